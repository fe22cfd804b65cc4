// WRONG: the loser is sent a cancel, but not waited for: read_note() returns while it still runs.
// expect: without waiting for it to end
//
// Each read is co_spawn'ed with a cancellation_signal bound to its handler, so
// the loser can be told to stop; but read_note() returns as soon as it has
// emitted the cancel. A cancel is a request: the read ends later (the next
// time the loop runs its handlers), and until then it holds its connection
// while read_note()'s caller believes it is done.
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
// Where a read started on its own delivers its answer: a one-shot channel.
using Promise =
    asio::experimental::channel<void(boost::system::error_code, std::exception_ptr, Note)>;

// A read started on its own: where its answer arrives, and how to stop it.
struct Flight {
  std::shared_ptr<Promise> promise;
  std::shared_ptr<asio::cancellation_signal> stop;
};

// The completion handler of a read: delivers its outcome to the promise, and
// keeps the signal bound to its own slot alive as long as it is.
struct Deliver {
  std::shared_ptr<Promise> promise;
  std::shared_ptr<asio::cancellation_signal> keep;
  void operator()(const std::exception_ptr& error, Note note) const {
    promise->try_send(boost::system::error_code{}, error, std::move(note));
  }
};

// Starts `read` now, cancellable through the returned signal.
Flight start(const asio::any_io_executor& ex, asio::awaitable<Note> read) {
  Flight flight{std::make_shared<Promise>(ex, 1), std::make_shared<asio::cancellation_signal>()};
  asio::co_spawn(
      ex, std::move(read),
      asio::bind_cancellation_slot(flight.stop->slot(), Deliver{flight.promise, flight.stop}));
  return flight;
}

// The answer delivered to `promise` (rethrowing the read's exception).
asio::awaitable<Note> answer_of(std::shared_ptr<Promise> promise) {
  auto [error, note] = co_await promise->async_receive(asio::use_awaitable);
  if (error) std::rethrow_exception(error);
  co_return note;
}

}  // namespace

asio::awaitable<std::optional<mockdb::Row>> read_note(ConnectionPool& pool, mockdb::Id id,
                                                      workbook::Clock::duration hedge_after) {
  const auto ex = co_await asio::this_coro::executor;
  auto first = start(ex, read_once(pool, id));
  auto hedge = start(ex, read_after(hedge_after, pool, id));
  try {
    auto deliveries = answer_of(first.promise) || answer_of(hedge.promise);
    auto winner = co_await std::move(deliveries);
    if (winner.index() == 0) {
      hedge.stop->emit(asio::cancellation_type::terminal);  // told to stop, not waited for
      co_return std::get<0>(std::move(winner));
    }
    first.stop->emit(asio::cancellation_type::terminal);
    co_return std::get<1>(std::move(winner));
  } catch (...) {
    first.stop->emit(asio::cancellation_type::terminal);
    hedge.stop->emit(asio::cancellation_type::terminal);
    throw;
  }
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
  Lease lease = co_await pool.acquire();
  mockdb::Row note;
  note["title"] = title;
  const auto ex = co_await asio::this_coro::executor;
  auto writes = write_note_and_history(std::move(lease), std::move(note));
  auto unstoppable = asio::bind_cancellation_slot(asio::cancellation_slot(), asio::use_awaitable);
  co_return co_await asio::co_spawn(ex, std::move(writes), std::move(unstoppable));
}

}  // namespace ch11
