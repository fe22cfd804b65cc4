// Chapter 11, the fix: every operation has an owner that can cancel it, and a
// save is not cancelled halfway.
//
// read_note() races the read and the hedge with `||` itself, so both are its
// own operands: `||` cancels the loser (terminal cancellation, through the
// loser's co_spawn) and returns only once the loser has ended and its lease
// has given the connection back. A hedge cancelled while it waits for the p95
// sends no read at all. The caller's cancellation reaches both the same way.
//
// save_note() may be cancelled while it waits for a connection, before
// anything is written. From the first write on, the two writes run in a
// coroutine of their own whose completion handler has no cancellation slot,
// so a cancel from the caller cannot reach them: they land both, and the
// caller waits the few milliseconds it takes.
#include "note_service.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>
#include <variant>

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace ch11 {

asio::awaitable<std::optional<mockdb::Row>> read_note(ConnectionPool& pool, mockdb::Id id,
                                                      workbook::Clock::duration hedge_after) {
  //! [fix]
  auto first = read_once(pool, id);
  auto hedge = read_after(hedge_after, pool, id);  // cancelled before the p95: no read sent
  auto reads = std::move(first) || std::move(hedge);
  auto winner = co_await std::move(reads);  // the loser is cancelled, and has ended
  //! [fix]
  co_return winner.index() == 0 ? std::get<0>(std::move(winner)) : std::get<1>(std::move(winner));
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
  //! [fix_save]
  // No slot: co_spawn has nothing to forward a cancel from, so both writes run.
  const auto ex = co_await asio::this_coro::executor;
  auto writes = write_note_and_history(std::move(lease), std::move(note));
  auto unstoppable = asio::bind_cancellation_slot(asio::cancellation_slot(), asio::use_awaitable);
  co_return co_await asio::co_spawn(ex, std::move(writes), std::move(unstoppable));
  //! [fix_save]
}

}  // namespace ch11
