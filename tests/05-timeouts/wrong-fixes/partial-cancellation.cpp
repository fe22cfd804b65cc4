// WRONG: the group cancels the loser with cancellation_type::partial, which the operation ignores.
// expect: The deadline did fire \(virtual time reached 50 ms\), but the request went on waiting
// A coroutine started by co_spawn filters out everything but terminal
// cancellation, so the hanging read never hears of it, and the group, which
// waits for both of its operations, never completes.
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <utility>

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
  // Partial: the gentlest request, enough to stop a read that has not started.
  auto [order, error, waited] = co_await group.async_wait(
      asio::experimental::wait_for_one(asio::cancellation_type::partial), asio::use_awaitable);
  if (order[0] == 1) throw_timed_out(what, limit);  // the timer first: the operation was cancelled
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
