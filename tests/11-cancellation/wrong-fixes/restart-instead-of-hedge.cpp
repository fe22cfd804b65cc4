// WRONG: a restart, not a hedge: a late first read is cancelled at the delay and a new one awaited.
// expect: cancelled its first read at the hedge delay and started again
//
// `read_once || sleep_for(hedge_after)` cancels the first read when the sleep
// wins, then awaits a fresh read: a second chance, not a second read in
// parallel. A first read that was about to answer is thrown away, and the
// caller waits the delay plus a whole new read. With a first read from the
// long tail (500 ms) it looks right; with one a little slower than the delay
// it answers later than if it had not "hedged" at all.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>
#include <variant>

#include "note_service.hpp"
#include "workbook/timer.hpp"

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace ch11 {

asio::awaitable<std::optional<mockdb::Row>> read_note(ConnectionPool& pool, mockdb::Id id,
                                                      workbook::Clock::duration hedge_after) {
  auto first = read_once(pool, id);
  auto patience = workbook::sleep_for(hedge_after);
  auto race = std::move(first) || std::move(patience);
  auto winner = co_await std::move(race);  // the loser is cancelled, and has ended
  if (winner.index() == 0) co_return std::get<0>(std::move(winner));
  co_return co_await read_once(pool, id);  // the slow read is gone: a fresh one
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
  const auto ex = co_await asio::this_coro::executor;
  auto writes = write_note_and_history(std::move(lease), std::move(note));
  auto unstoppable = asio::bind_cancellation_slot(asio::cancellation_slot(), asio::use_awaitable);
  co_return co_await asio::co_spawn(ex, std::move(writes), std::move(unstoppable));
}

}  // namespace ch11
