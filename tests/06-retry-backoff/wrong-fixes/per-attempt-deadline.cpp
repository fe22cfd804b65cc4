// WRONG: each attempt gets its own deadline (now + policy.deadline): a late hang outlasts the call.
// expect: timed_out at the call's deadline, 300 ms\. The deadline restarted with an attempt
//
// The overall deadline is computed, and checked before each wait, but each
// read_by() is given now() + policy.deadline: a read that hangs on the first
// attempt is cut off at the call's deadline, one that hangs after 150 ms of
// failures runs 300 ms from its own start, well past what the caller allowed.

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
  std::mt19937_64 jitter(policy.seed);  // seeded: the same policy retries at the same times
  for (int attempt = 1;; ++attempt) {
    try {
      // each attempt gets the whole policy.deadline: a hang on a late attempt outlasts the call's
      co_return co_await read_by(db, id, workbook::Clock::now() + policy.deadline);
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
