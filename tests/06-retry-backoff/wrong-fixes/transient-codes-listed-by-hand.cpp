// WRONG: lists the mock's transient Errc codes by hand instead of asking mockdb::is_transient.
// expect: A list of one backend's codes misses other backends' codes
//
// Every transient code of the mock is in the list, so every mock error is
// decided right. Another backend's "starting up" has a category of its own: it
// maps onto ErrorClass::unavailable, as Errc::unavailable does, but it is not
// equal to any code listed here, and it is thrown at once instead of retried.

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
      co_return co_await read_by(db, id, deadline);  // no such note: std::nullopt, not retried
    } catch (const mockdb::DatabaseError& e) {
      using mockdb::Errc;  // the transient codes, listed by hand
      const auto code = e.code();
      const bool transient = code == Errc::connection_reset || code == Errc::connection_closed ||
                             code == Errc::too_many_connections || code == Errc::unavailable ||
                             code == Errc::timed_out;
      if (!transient) throw;                      // trying again cannot help
      if (attempt >= policy.max_attempts) throw;  // out of attempts: the last error
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
