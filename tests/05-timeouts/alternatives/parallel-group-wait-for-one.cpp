// RIGHT: a parallel group of the operation and the timer, ended by the first to complete.
// wait_for_one() (unlike operator||'s wait_for_one_success) ends the race on
// any completion, a failure included, so the operation needs no wrapper: its
// exception comes back in the group's results. The group cancels the other
// operation and completes only once both have ended.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <utility>
#include <variant>

#include "note_service.hpp"
#include "workbook/timer.hpp"

namespace ch05 {

namespace asio = boost::asio;

boost::asio::awaitable<void> run_with_timeout(boost::asio::awaitable<void> op,
                                              workbook::Clock::duration limit, std::string what) {
  const auto ex = co_await asio::this_coro::executor;
  workbook::Timer deadline(ex, limit);
  auto group = asio::experimental::make_parallel_group(
      asio::co_spawn(ex, std::move(op), asio::deferred), deadline.async_wait(asio::deferred));
  auto [order, error, waited] =
      co_await group.async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  // The timer first, and not cancelled: the deadline passed, and the operation
  // was cancelled. A timer that ended with operation_aborted was cancelled by
  // the caller (a client that gave up, a shorter deadline around this one),
  // and that is not a timeout: the operation's own error says what happened.
  if (order[0] == 1 && !waited) throw_timed_out(what, limit);
  if (error) std::rethrow_exception(error);
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
