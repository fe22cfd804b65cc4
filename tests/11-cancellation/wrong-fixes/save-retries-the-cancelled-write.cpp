// WRONG: the history write is retried when it ends with operation_aborted, on the same connection.
// expect: left half a save
//
// The retry cannot work. Asio throws operation_aborted again at the retry's
// co_await, before it starts anything (the frame checks the cancellation state
// there, impl/awaitable.hpp), and even past that, the connection is broken:
// a write cancelled midway breaks it (mockdb/database.hpp), so a retry on it
// fails with connection_closed. The note stays without its history entry.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
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

asio::awaitable<mockdb::Id> save_note(ConnectionPool& pool, std::string title) {
  Lease lease = co_await pool.acquire();  // cancellable: nothing is written yet
  bool retry = false;
  mockdb::Row note;
  note["title"] = title;
  const mockdb::Id id = co_await lease.create(kNotesTable, std::move(note));
  mockdb::Row entry;
  entry["note"] = id;
  entry["event"] = "created";
  try {
    co_await lease.create(kHistoryTable, entry);
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted) throw;
    retry = true;
  }
  if (retry) co_await lease.create(kHistoryTable, std::move(entry));  // once more
  co_return id;
}

}  // namespace ch11
