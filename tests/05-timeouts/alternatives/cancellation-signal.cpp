// RIGHT: at the deadline a timer emits terminal cancellation; the operation is awaited to its end.
// The operation runs in a coroutine whose cancellation slot is the signal's;
// at the deadline the timer emits, the operation throws operation_aborted,
// and only then, with the query ended, is the timeout reported. That slot
// takes the place of the caller's, so the caller's own cancellation is passed
// on into the signal by hand (wrong-fixes/private-signal-ignores-the-caller
// is this file without that).
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <exception>
#include <memory>
#include <utility>
#include <variant>

#include "note_service.hpp"
#include "workbook/timer.hpp"

namespace ch05 {

namespace asio = boost::asio;

boost::asio::awaitable<void> run_with_timeout(boost::asio::awaitable<void> op,
                                              workbook::Clock::duration limit, std::string what) {
  // Shared with the timer's handler, which may run after this frame is gone.
  struct Deadline {
    asio::cancellation_signal cancel;
    bool passed = false;
  };
  const auto ex = co_await asio::this_coro::executor;
  auto state = std::make_shared<Deadline>();
  // The caller's cancellation (a client that gives up, a shorter deadline
  // around this one) arrives on this coroutine's cancellation state, whose
  // slot nothing else uses while the operation runs under our own signal:
  // pass it on into that signal, or the operation would never hear it.
  asio::cancellation_state caller = co_await asio::this_coro::cancellation_state;
  if (caller.cancelled() != asio::cancellation_type::none) {
    throw boost::system::system_error(asio::error::operation_aborted);  // cancelled already
  }
  asio::cancellation_slot from_caller = caller.slot();
  if (from_caller.is_connected()) {  // else nothing can cancel the caller: nothing to pass on
    from_caller.assign([state](asio::cancellation_type type) { state->cancel.emit(type); });
  }
  workbook::Timer deadline(ex, limit);
  deadline.async_wait([state](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: the operation ended first
    state->passed = true;
    state->cancel.emit(asio::cancellation_type::terminal);
  });
  std::exception_ptr error;
  try {
    auto run = asio::co_spawn(
        ex, std::move(op), asio::bind_cancellation_slot(state->cancel.slot(), asio::use_awaitable));
    co_await std::move(run);  // returns once the operation has ended, cancelled or not
  } catch (...) {
    error = std::current_exception();
  }
  if (from_caller.is_connected()) from_caller.clear();  // the operation has ended
  deadline.cancel();
  if (!error) co_return;
  if (state->passed) throw_timed_out(what, limit);
  std::rethrow_exception(error);  // the operation's own error, or the caller's cancellation
}

boost::asio::awaitable<std::optional<mockdb::Row>> NoteService::get_note(
    mockdb::Id id, std::optional<workbook::Clock::duration> timeout) {
  const workbook::Clock::duration limit = timeout.value_or(default_timeout_);
  auto read = db_.read(kNotesTable, id);
  co_return co_await with_timeout(std::move(read), limit, "reading note " + std::to_string(id));
}

boost::asio::awaitable<std::optional<Page>> NoteService::load_page(
    mockdb::Id id, std::optional<workbook::Clock::duration> timeout) {
  const workbook::Clock::duration limit = timeout.value_or(default_timeout_);
  auto page = fetch_page(db_, id);  // the read and the query, under one deadline
  co_return co_await with_timeout(std::move(page), limit,
                                  "loading the page of note " + std::to_string(id));
}

}  // namespace ch05
