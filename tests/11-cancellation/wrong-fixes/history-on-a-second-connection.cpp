// WRONG: the history entry goes on a second connection, acquired while the first is held, shielded.
// expect: each save holds one connection and waits for a second one
//
// The note is written on the first connection; the history entry on another
// one, so that a cancel during the first write (which breaks its connection)
// cannot stop the second. But the save waits for that second connection while
// it holds the first, and the wait is shielded: with as many saves at once as
// the pool has connections, each holds one and waits for another that none of
// them will give back. A deadlock; one connection per save cannot have one.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
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

// The note on `lease`, then its history entry on a connection of its own.
asio::awaitable<mockdb::Id> write_note_then_history_elsewhere(ConnectionPool& pool, Lease lease,
                                                              mockdb::Row note) {
  const mockdb::Id id = co_await lease.create(kNotesTable, std::move(note));
  Lease other = co_await pool.acquire();  // a second connection, while holding the first
  mockdb::Row entry;
  entry["note"] = id;
  entry["event"] = "created";
  co_await other.create(kHistoryTable, std::move(entry));
  co_return id;
}

}  // namespace

asio::awaitable<mockdb::Id> save_note(ConnectionPool& pool, std::string title) {
  Lease lease = co_await pool.acquire();  // cancellable: nothing is written yet
  mockdb::Row note;
  note["title"] = title;
  const auto ex = co_await asio::this_coro::executor;
  auto writes = write_note_then_history_elsewhere(pool, std::move(lease), std::move(note));
  auto unstoppable = asio::bind_cancellation_slot(asio::cancellation_slot(), asio::use_awaitable);
  co_return co_await asio::co_spawn(ex, std::move(writes), std::move(unstoppable));
}

}  // namespace ch11
