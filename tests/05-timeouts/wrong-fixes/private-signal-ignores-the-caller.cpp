// WRONG: the operation runs under a private cancellation_signal: the caller's cancellation is lost.
// expect: the caller's cancellation was ignored
// The timer's handler emits terminal cancellation into the signal, and the
// operation is awaited to its end: the request's own deadline works. But the
// co_spawn's cancellation slot is the private signal's, which takes the place
// of the caller's: a caller that gives up after 10 ms (a client that hangs
// up, a shorter with_timeout around this one) cannot stop the read, and the
// request runs on until its own, longer deadline.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
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
  deadline.cancel();
  if (!error) co_return;
  if (state->passed) throw_timed_out(what, limit);
  std::rethrow_exception(error);
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
