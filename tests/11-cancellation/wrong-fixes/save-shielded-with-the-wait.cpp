// WRONG: the whole save is shielded, the wait for a connection too: a cancelled save still writes.
// expect: and yet wrote 1 note\(s\)
//
// Shielding is for work that has begun and must not stop halfway. Waiting for
// a connection is not such work: nothing has been written yet, and a caller
// that gave up should find nothing written.
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

// The two writes of a save, on one leased connection.
asio::awaitable<mockdb::Id> write_note_and_history(Lease lease, mockdb::Row note) {
  const mockdb::Id id = co_await lease.create(kNotesTable, std::move(note));
  mockdb::Row entry;
  entry["note"] = id;
  entry["event"] = "created";
  co_await lease.create(kHistoryTable, std::move(entry));
  co_return id;
}

// A connection, then the two writes.
asio::awaitable<mockdb::Id> acquire_and_write(ConnectionPool& pool, mockdb::Row note) {
  Lease lease = co_await pool.acquire();
  co_return co_await write_note_and_history(std::move(lease), std::move(note));
}

}  // namespace

asio::awaitable<mockdb::Id> save_note(ConnectionPool& pool, std::string title) {
  mockdb::Row note;
  note["title"] = title;
  const auto ex = co_await asio::this_coro::executor;
  auto save = acquire_and_write(pool, std::move(note));
  auto unstoppable = asio::bind_cancellation_slot(asio::cancellation_slot(), asio::use_awaitable);
  co_return co_await asio::co_spawn(ex, std::move(save), std::move(unstoppable));
}

}  // namespace ch11
