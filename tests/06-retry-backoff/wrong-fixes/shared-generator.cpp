// WRONG: one static generator for every call, reseeded by each: waits depend on who else runs.
// expect: retried at other times beside 10 clients
//
// Alone, a client draws the waits its seed gives. Beside others, each call
// reseeds the shared generator when it starts and every client draws from it
// in turn, so a client's waits are not its seed's. A run of the same clients
// still repeats (the interleaving does), which is why the 100-client replay
// does not notice.

#include <algorithm>
#include <random>
#include <string>

#include "mockdb/errors.hpp"
#include "note_loader.hpp"
#include "workbook/timer.hpp"

namespace ch06 {

namespace {

// The wait before retry number `retry` (1 for the first): base × 2^(retry-1),
// at most `cap`, then drawn uniformly from [half of it, all of it] ("equal
// jitter"). Doubling stops at the cap, so it cannot overflow.
workbook::Clock::duration backoff(const RetryPolicy& policy, int retry, std::mt19937_64& jitter) {
  workbook::Clock::duration ceiling = policy.base;
  for (int i = 1; i < retry && ceiling < policy.cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, policy.cap);
  std::uniform_int_distribution<workbook::Clock::rep> draw(ceiling.count() / 2, ceiling.count());
  return workbook::Clock::duration(draw(jitter));
}

}  // namespace

boost::asio::awaitable<std::optional<mockdb::Row>> load_note(mockdb::DatabaseService& db,
                                                             mockdb::Id id, RetryPolicy policy) {
  //! [fix]
  const auto deadline = workbook::Clock::now() + policy.deadline;
  static std::mt19937_64 jitter;  // one generator for every call, reseeded by each
  jitter.seed(policy.seed);
  for (int attempt = 1;; ++attempt) {
    try {
      co_return co_await read_by(db, id, deadline);  // no such note: std::nullopt, not retried
    } catch (const mockdb::DatabaseError& e) {
      if (!mockdb::is_transient(e.code())) throw;  // trying again cannot help
      if (attempt >= policy.max_attempts) throw;   // out of attempts: the last error
    }
    const auto wait = backoff(policy, attempt, jitter);
    if (workbook::Clock::now() + wait >= deadline) {  // the next attempt would come too late
      mockdb::throw_database_error(mockdb::Errc::timed_out,
                                   "note " + std::to_string(id) + " could not be read after " +
                                       std::to_string(attempt) + " attempts before the deadline");
    }
    co_await workbook::sleep_for(wait);  // suspends this coroutine; the loop runs on
  }
  //! [fix]
}

}  // namespace ch06
