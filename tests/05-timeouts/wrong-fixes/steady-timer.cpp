// WRONG: the deadline is a plain asio::steady_timer, which waits in real time, not workbook time.
// expect: the deadline never fired
// Right in production; here the test's slow database takes its 10 s in
// virtual time, which a steady_timer never sees, so the read always wins.
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <utility>
#include <variant>

#include "note_service.hpp"
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
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer deadline(co_await asio::this_coro::executor, limit);
  auto race = ended(std::move(op)) || deadline.async_wait(asio::use_awaitable);
  const std::variant<std::exception_ptr, std::monostate> first = co_await std::move(race);
  if (first.index() == 1) throw_timed_out(what, limit);
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
