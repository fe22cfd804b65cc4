// WRONG: the save runs detached behind a promise: a cancelled save_note() returns mid-write.
// expect: while 1 write\(s\) were still in flight
//
// Both writes land, so the data is whole; but save_note() tells its caller
// "cancelled" and returns while a write is still running, holding its
// connection, and the note appears after the caller was told it was not saved.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <memory>
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

// Where the detached save delivers its outcome.
using Saved =
    asio::experimental::channel<void(boost::system::error_code, std::exception_ptr, mockdb::Id)>;

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
  auto saved = std::make_shared<Saved>(ex, 1);
  asio::co_spawn(ex, write_note_and_history(std::move(lease), std::move(note)),
                 [saved](const std::exception_ptr& error, mockdb::Id id) {
                   saved->try_send(boost::system::error_code{}, error, id);
                 });
  auto [error, id] = co_await saved->async_receive(asio::use_awaitable);
  if (error) std::rethrow_exception(error);
  co_return id;
}

}  // namespace ch11
