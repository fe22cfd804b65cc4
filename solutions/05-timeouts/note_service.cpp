// Chapter 05, the fix: the operation races a timer, and the loser is cancelled.
//
// run_with_timeout() starts the operation and a workbook::Timer together with
// operator||, which resumes when the first of them has completed, cancels the
// other and waits for it to end. If the timer wins, the operation has been
// cancelled and has ended (its connection released) before the typed timeout
// error is thrown. operator|| waits for the first *success*, so the operation
// is wrapped to report its exception as a value: a database error then ends
// the race at once and reaches the caller unchanged, instead of losing to the
// timer and passing for a timeout.
#include "note_service.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <utility>
#include <variant>

#include "workbook/timer.hpp"

namespace ch05 {

namespace asio = boost::asio;

namespace {
// Awaits `op` and returns its exception, or null if it completed: a failure
// becomes a result, so that it wins the race like a success does.
asio::awaitable<std::exception_ptr> ended(asio::awaitable<void> op) {
  std::exception_ptr error;
  try {
    co_await std::move(op);
  } catch (...) {
    error = std::current_exception();
  }
  co_return error;
}
}  // namespace

boost::asio::awaitable<void> run_with_timeout(boost::asio::awaitable<void> op,
                                              workbook::Clock::duration limit, std::string what) {
  //! [fix]
  using namespace asio::experimental::awaitable_operators;
  workbook::Timer deadline(co_await asio::this_coro::executor, limit);
  auto race = ended(std::move(op)) || deadline.async_wait(asio::use_awaitable);
  // Resumes when the first one completes, after the other was cancelled and has ended.
  const std::variant<std::exception_ptr, std::monostate> first = co_await std::move(race);
  if (first.index() == 1) throw_timed_out(what, limit);  // the operation was cancelled
  if (const std::exception_ptr& error = std::get<0>(first)) std::rethrow_exception(error);
  //! [fix]
}

boost::asio::awaitable<std::optional<mockdb::Row>> NoteService::get_note(
    mockdb::Id id, std::optional<workbook::Clock::duration> timeout) {
  //! [request]
  const workbook::Clock::duration limit = timeout.value_or(default_timeout_);
  auto read = db_.read(kNotesTable, id);
  co_return co_await with_timeout(std::move(read), limit, "reading note " + std::to_string(id));
  //! [request]
}

boost::asio::awaitable<std::optional<Page>> NoteService::load_page(
    mockdb::Id id, std::optional<workbook::Clock::duration> timeout) {
  const workbook::Clock::duration limit = timeout.value_or(default_timeout_);
  auto page = fetch_page(db_, id);  // the read and the query, under one deadline
  co_return co_await with_timeout(std::move(page), limit,
                                  "loading the page of note " + std::to_string(id));
}

}  // namespace ch05
