// WRONG: every 5 ms, the request looks whether the operation has ended or the deadline passed.
// expect: answered after 5\.00 ms, 4\.00 ms late
// The operation runs in a co_spawn of its own; a loop sleeps 5 ms, then looks
// at its flag and at the clock. Every answer comes at the next look after the
// operation ended, and every timeout at the next look after the deadline: a
// 1 ms read answers at 5 ms, a deadline of 23 ms fires at 25 ms. Latencies and
// limits that are multiples of 5 ms hide it. (And a caller's cancellation
// stops the loop's sleep, not the operation.)
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <memory>
#include <utility>

#include "note_service.hpp"
#include "workbook/timer.hpp"

namespace asio = boost::asio;

namespace ch05 {
boost::asio::awaitable<void> run_with_timeout(boost::asio::awaitable<void> op,
                                              workbook::Clock::duration limit, std::string what) {
  using namespace std::chrono_literals;
  const auto ex = co_await asio::this_coro::executor;
  struct State {
    asio::cancellation_signal signal;
    bool done = false;
    std::exception_ptr error;
  };
  auto state = std::make_shared<State>();
  asio::co_spawn(ex, std::move(op),
                 asio::bind_cancellation_slot(state->signal.slot(), [state](std::exception_ptr e) {
                   state->done = true;
                   state->error = std::move(e);
                 }));
  const auto start = workbook::Clock::now();
  while (!state->done) {
    if (workbook::Clock::now() - start >= limit) {
      state->signal.emit(asio::cancellation_type::terminal);
      while (!state->done) co_await asio::post(ex, asio::use_awaitable);
      throw_timed_out(what, limit);
    }
    co_await workbook::sleep_for(5ms);
  }
  if (state->error) std::rethrow_exception(state->error);
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
  auto page = fetch_page(db_, id);
  co_return co_await with_timeout(std::move(page), limit,
                                  "loading the page of note " + std::to_string(id));
}

}  // namespace ch05
