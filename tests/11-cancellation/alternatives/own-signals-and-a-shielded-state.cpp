// RIGHT: || written out: a cancellation_signal per read, and the save through this_coro's state.
// (cancellation_signal, bind_cancellation_slot, this_coro: throw_if_cancelled, cancellation_state)
//
// read_note() owns its reads: a read started with co_spawn belongs to whoever
// holds the signal bound to its completion handler's slot. Their answers come
// through one channel. To clean up after its own caller cancelled it,
// read_note() first turns off throw_if_cancelled, so that its later co_awaits
// (waiting for the cancelled reads to end) do not throw at once, and checks
// the cancellation state by hand at the end.
//
// save_note() switches the cancellation state to disable_cancellation() for
// its two writes and back afterwards. That resets the state of the whole
// coroutine chain (this_coro.hpp: the state is shared by every coroutine of
// one co_spawn), and a cancel that arrives meanwhile is dropped, not kept for
// later: the fix's separate co_spawn leaves the caller's state alone.
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <exception>
#include <utility>
#include <variant>

#include "note_service.hpp"

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace ch11 {
namespace {

using Note = std::optional<mockdb::Row>;
// Which read (0 the first, 1 the hedge) answered, and how.
using Answers =
    asio::experimental::channel<void(boost::system::error_code, int, std::exception_ptr, Note)>;

// The completion handler of a read: delivers its outcome to `answers`.
struct Deliver {
  Answers* answers;
  int which;
  void operator()(const std::exception_ptr& error, Note note) const {
    answers->try_send(boost::system::error_code{}, which, error, std::move(note));
  }
};

}  // namespace

asio::awaitable<std::optional<mockdb::Row>> read_note(ConnectionPool& pool, mockdb::Id id,
                                                      workbook::Clock::duration hedge_after) {
  co_await asio::this_coro::throw_if_cancelled(false);  // clean up first, then report
  const auto ex = co_await asio::this_coro::executor;
  Answers answers(ex, 2);
  std::array<asio::cancellation_signal, 2> stop;
  asio::co_spawn(ex, read_once(pool, id),
                 asio::bind_cancellation_slot(stop[0].slot(), Deliver{&answers, 0}));
  asio::co_spawn(ex, read_after(hedge_after, pool, id),
                 asio::bind_cancellation_slot(stop[1].slot(), Deliver{&answers, 1}));
  std::optional<Note> winner;
  std::exception_ptr failure;
  for (int running = 2; running > 0;) {
    auto [cancelled, which, error, note] =
        co_await answers.async_receive(asio::as_tuple(asio::use_awaitable));
    if (cancelled) {  // our caller gave up: stop both, and wait for them to end
      for (auto& signal : stop) signal.emit(asio::cancellation_type::terminal);
      continue;
    }
    --running;
    if (!error && !winner) {
      winner.emplace(std::move(note));
      stop[1 - which].emit(asio::cancellation_type::terminal);  // the loser
    } else if (error && !failure) {
      failure = error;
    }
  }
  const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
  co_await asio::this_coro::throw_if_cancelled(true);
  if (state.cancelled() != asio::cancellation_type::none) {
    throw boost::system::system_error(asio::error::operation_aborted);
  }
  if (winner) co_return std::move(*winner);
  std::rethrow_exception(failure);
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
  co_await asio::this_coro::reset_cancellation_state(asio::disable_cancellation());
  const mockdb::Id id = co_await write_note_and_history(std::move(lease), std::move(note));
  co_await asio::this_coro::reset_cancellation_state();  // listen again
  co_return id;
}

}  // namespace ch11
