// WRONG: a plain || waits for the first success: a failed read loses to the timer, as a timeout.
// expect: threw Errc::timed_out after 50 ms; expected connection_reset itself
// It looks like the textbook answer, and it times out and cancels correctly;
// only a failing operation gives it away, 40 ms late and with the wrong error.
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>
#include <variant>

#include "note_service.hpp"
#include "workbook/timer.hpp"

namespace ch05 {

namespace asio = boost::asio;

boost::asio::awaitable<void> run_with_timeout(boost::asio::awaitable<void> op,
                                              workbook::Clock::duration limit, std::string what) {
  using namespace asio::experimental::awaitable_operators;
  workbook::Timer deadline(co_await asio::this_coro::executor, limit);
  auto race = std::move(op) || deadline.async_wait(asio::use_awaitable);
  const std::variant<std::monostate, std::monostate> first = co_await std::move(race);
  if (first.index() == 1) throw_timed_out(what, limit);
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
