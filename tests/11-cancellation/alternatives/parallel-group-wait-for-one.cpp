// RIGHT: the read and the hedge as a parallel group, wait_for_one(): what || is a shorthand for.
// (operator|| in experimental/awaitable_operators.hpp builds this group, with wait_for_one_success)
//
// make_parallel_group takes the two co_spawn'ed reads as deferred operations,
// starts both, and on the first completion emits the cancellation
// wait_for_one() names (cancellation_type::all by default) to the other; its
// async_wait completes once both have ended. wait_for_one stops at the first
// completion, failed or not: a first read that fails does not wait for the
// hedge, and read_note() reports that failure. || (wait_for_one_success)
// would wait for the hedge instead.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <utility>
#include <variant>

#include "note_service.hpp"

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace ch11 {

asio::awaitable<std::optional<mockdb::Row>> read_note(ConnectionPool& pool, mockdb::Id id,
                                                      workbook::Clock::duration hedge_after) {
  const auto ex = co_await asio::this_coro::executor;
  auto group = asio::experimental::make_parallel_group(
      asio::co_spawn(ex, read_once(pool, id), asio::deferred),
      asio::co_spawn(ex, read_after(hedge_after, pool, id), asio::deferred));
  auto [order, first_error, first, hedge_error, hedge] =
      co_await group.async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  // order[0] is the operation that completed first; the other was cancelled.
  if (order[0] == 0) {
    if (first_error) std::rethrow_exception(first_error);
    co_return first;
  }
  if (hedge_error) std::rethrow_exception(hedge_error);
  co_return hedge;
}

namespace {

// The two writes of a save, on one leased connection.
asio::awaitable<mockdb::Id> write_note_and_history(Lease lease, mockdb::Row note) {
  const mockdb::Id id = co_await lease.create(kNotesTable, std::move(note));
  mockdb::Row entry;
  entry["note"] = id;
  entry["event"] = "created";
  co_await lease.create(kHistoryTable, std::move(entry));
  co_return id;
}

}  // namespace

asio::awaitable<mockdb::Id> save_note(ConnectionPool& pool, std::string title) {
  Lease lease = co_await pool.acquire();  // cancellable: nothing is written yet
  mockdb::Row note;
  note["title"] = title;
  // No slot: co_spawn has nothing to forward a cancel from, so both writes run.
  const auto ex = co_await asio::this_coro::executor;
  auto writes = write_note_and_history(std::move(lease), std::move(note));
  auto unstoppable = asio::bind_cancellation_slot(asio::cancellation_slot(), asio::use_awaitable);
  co_return co_await asio::co_spawn(ex, std::move(writes), std::move(unstoppable));
}

}  // namespace ch11
