// WRONG: at the deadline the query is sent a cancellation, and the timeout thrown at once.
// expect: query still in flight after timeout
// The read does end, a moment later: after the request has returned, so a
// caller that destroys the database or reuses the connection right away
// races with it. The loser must be cancelled and waited for.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
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
  // What the spawned operation reports; shared, since it may outlive this frame.
  struct Outcome {
    explicit Outcome(const asio::any_io_executor& ex) : wake(ex) {}
    workbook::Timer wake;
    asio::cancellation_signal cancel;
    bool done = false;
    std::exception_ptr error;
  };
  const auto ex = co_await asio::this_coro::executor;
  auto outcome = std::make_shared<Outcome>(ex);
  outcome->wake.expires_after(limit);
  asio::co_spawn(ex, std::move(op),
                 asio::bind_cancellation_slot(outcome->cancel.slot(),
                                              [outcome](const std::exception_ptr& error) {
                                                outcome->done = true;
                                                outcome->error = error;
                                                outcome->wake.cancel();
                                              }));
  co_await outcome->wake.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!outcome->done) {
    outcome->cancel.emit(asio::cancellation_type::terminal);  // stop the query...
    throw_timed_out(what, limit);                             // ...but do not wait for it
  }
  if (outcome->error) std::rethrow_exception(outcome->error);
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
