// WRONG: the wait for a connection is shielded too; a cancel is only noticed once one is free.
// expect: was cancelled at 20 ms while it waited for a connection and ended only at 50 ms
//
// The whole save, the wait for a connection included, runs where the caller's
// cancellation cannot reach it; it looks at the caller's cancellation state
// once it has a connection, and writes nothing if the caller gave up. So it
// writes nothing, as it should, but the caller that gave up still waits for a
// connection to come free: for as long as the slowest query holding one.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <utility>
#include <variant>

#include "note_service.hpp"

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace ch11 {

asio::awaitable<std::optional<mockdb::Row>> read_note(ConnectionPool& pool, mockdb::Id id,
                                                      workbook::Clock::duration hedge_after) {
  auto first = read_once(pool, id);
  auto hedge = read_after(hedge_after, pool, id);  // cancelled before the p95: no read sent
  auto reads = std::move(first) || std::move(hedge);
  auto winner = co_await std::move(reads);  // the loser is cancelled, and has ended
  co_return winner.index() == 0 ? std::get<0>(std::move(winner)) : std::get<1>(std::move(winner));
}

namespace {

// A connection, then, unless `caller` was cancelled meanwhile, the two writes.
asio::awaitable<mockdb::Id> acquire_check_and_write(ConnectionPool& pool, mockdb::Row note,
                                                    asio::cancellation_state caller) {
  Lease lease = co_await pool.acquire();
  if (caller.cancelled() != asio::cancellation_type::none) {  // the caller gave up: write nothing
    throw boost::system::system_error(asio::error::operation_aborted);
  }
  const mockdb::Id id = co_await lease.create(kNotesTable, std::move(note));
  mockdb::Row entry;
  entry["note"] = id;
  entry["event"] = "created";
  co_await lease.create(kHistoryTable, std::move(entry));
  co_return id;
}

}  // namespace

asio::awaitable<mockdb::Id> save_note(ConnectionPool& pool, std::string title) {
  mockdb::Row note;
  note["title"] = title;
  const auto ex = co_await asio::this_coro::executor;
  const asio::cancellation_state caller = co_await asio::this_coro::cancellation_state;
  auto save = acquire_check_and_write(pool, std::move(note), caller);
  auto unstoppable = asio::bind_cancellation_slot(asio::cancellation_slot(), asio::use_awaitable);
  co_return co_await asio::co_spawn(ex, std::move(save), std::move(unstoppable));
}

}  // namespace ch11
