// WRONG: the deadline side of the race is a std::this_thread::sleep_for, in real time.
// expect: It timed out before any workbook time had passed
// The sleep takes no workbook time, so it "wins" every race at once, and
// while it sleeps it blocks the event loop's thread (chapter 01): no other
// request runs.
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <thread>
#include <utility>
#include <variant>

#include "note_service.hpp"

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

// The deadline: sleeps for `limit`, then completes.
asio::awaitable<void> sleep_then_return(std::chrono::nanoseconds limit) {
  std::this_thread::sleep_for(limit);
  co_return;
}
}  // namespace

boost::asio::awaitable<void> run_with_timeout(boost::asio::awaitable<void> op,
                                              workbook::Clock::duration limit, std::string what) {
  using namespace asio::experimental::awaitable_operators;
  auto race = ended(std::move(op)) || sleep_then_return(limit);
  // Resumes when the first one completes, after the other was cancelled and has ended.
  const std::variant<std::exception_ptr, std::monostate> first = co_await std::move(race);
  if (first.index() == 1) throw_timed_out(what, limit);  // the operation was cancelled
  if (const std::exception_ptr& error = std::get<0>(first)) std::rethrow_exception(error);
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
