// RIGHT: the retries run without a deadline of their own; one Timer races them and cancels them.
// (the deadline is enforced by cancellation, instead of checks before each attempt and wait)
//
// make_parallel_group with wait_for_one() ends when either operation does: the
// retry loop (with its note, or its exception), or the deadline timer. The
// loser is cancelled: a pending read or sleep_for completes with
// operation_aborted, and the group waits for that before it returns.
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>
#include <string>

#include "mockdb/errors.hpp"
#include "note_loader.hpp"
#include "workbook/timer.hpp"

namespace ch06 {

namespace {

namespace asio = boost::asio;

// The wait before retry number `retry`, as in the fix (equal jitter).
workbook::Clock::duration backoff(const RetryPolicy& policy, int retry, std::mt19937_64& jitter) {
  workbook::Clock::duration ceiling = policy.base;
  for (int i = 1; i < retry && ceiling < policy.cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, policy.cap);
  std::uniform_int_distribution<workbook::Clock::rep> draw(ceiling.count() / 2, ceiling.count());
  return workbook::Clock::duration(draw(jitter));
}

// Bounded, backed-off retries of transient errors, with no deadline: the
// caller cancels them when its deadline comes.
asio::awaitable<std::optional<mockdb::Row>> retry(mockdb::DatabaseService& db, mockdb::Id id,
                                                  RetryPolicy policy) {
  std::mt19937_64 jitter(policy.seed);
  for (int attempt = 1;; ++attempt) {
    try {
      co_return co_await db.read(kNotesTable, id);
    } catch (const mockdb::DatabaseError& e) {
      if (!mockdb::is_transient(e.code()) || attempt >= policy.max_attempts) throw;
    }
    co_await workbook::sleep_for(backoff(policy, attempt, jitter));
  }
}

}  // namespace

boost::asio::awaitable<std::optional<mockdb::Row>> load_note(mockdb::DatabaseService& db,
                                                             mockdb::Id id, RetryPolicy policy) {
  const auto ex = co_await asio::this_coro::executor;
  workbook::Timer deadline(ex, policy.deadline);
  auto attempts = asio::co_spawn(ex, retry(db, id, policy), asio::deferred);
  auto expiry = deadline.async_wait(asio::deferred);
  auto race = asio::experimental::make_parallel_group(std::move(attempts), expiry);
  auto [order, failure, note, expired] =
      co_await race.async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  if (order[0] == 1) {
    mockdb::throw_database_error(mockdb::Errc::timed_out, "note " + std::to_string(id) +
                                                              " could not be read by the deadline");
  }
  if (failure) std::rethrow_exception(failure);
  co_return std::move(note);
}

}  // namespace ch06
