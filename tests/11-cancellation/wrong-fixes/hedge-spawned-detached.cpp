// WRONG: the hedge is spawned detached behind a promise: nothing can cancel it, so it reads anyway.
// expect: sent a hedge at 30 ms although its first read had answered at 10 ms
//
// The first read is an operand of ||, but the hedge is co_spawn'ed on its own and
// || races only the delivery of its answer. Cancelling the delivery leaves the
// hedge running: it sleeps out the hedge delay and sends its read anyway.
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
namespace {

using Note = std::optional<mockdb::Row>;
using Promise =
    asio::experimental::channel<void(boost::system::error_code, std::exception_ptr, Note)>;

// Starts `read` on its own and returns where its answer will arrive.
std::shared_ptr<Promise> start(const asio::any_io_executor& ex, asio::awaitable<Note> read) {
  auto promise = std::make_shared<Promise>(ex, 1);
  asio::co_spawn(ex, std::move(read), [promise](const std::exception_ptr& error, Note note) {
    promise->try_send(boost::system::error_code{}, error, std::move(note));
  });
  return promise;
}

asio::awaitable<Note> answer_of(std::shared_ptr<Promise> promise) {
  auto [error, note] = co_await promise->async_receive(asio::use_awaitable);
  if (error) std::rethrow_exception(error);
  co_return note;
}

}  // namespace

asio::awaitable<std::optional<mockdb::Row>> read_note(ConnectionPool& pool, mockdb::Id id,
                                                      workbook::Clock::duration hedge_after) {
  const auto ex = co_await asio::this_coro::executor;
  auto first = read_once(pool, id);
  auto hedge = answer_of(start(ex, read_after(hedge_after, pool, id)));  // on its own
  auto reads = std::move(first) || std::move(hedge);
  auto winner = co_await std::move(reads);
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
  // No slot: co_spawn has nothing to forward a cancel from, so both writes run.
  const auto ex = co_await asio::this_coro::executor;
  auto writes = write_note_and_history(std::move(lease), std::move(note));
  auto unstoppable = asio::bind_cancellation_slot(asio::cancellation_slot(), asio::use_awaitable);
  co_return co_await asio::co_spawn(ex, std::move(writes), std::move(unstoppable));
}

}  // namespace ch11
