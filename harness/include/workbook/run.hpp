// Running a coroutine to its end, in real or virtual time.
//
// run_to_completion() is how tests and demos start the workbook's coroutines.
// In virtual time it advances the clock whenever the event loop is idle, so
// database latency costs no real time. If the loop runs out of things to do
// while the coroutine is still suspended, the coroutine can never complete:
// instead of hanging, the run throws NeverCompleted, saying what was pending.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace workbook {

/// Thrown when a coroutine was still suspended with nothing left that could
/// resume it. The message names the task and lists the pending operations.
class NeverCompleted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
/// For the harness's own tests only: called by a virtual-time runner right
/// after a poll of the loop found nothing to run, where work finishing
/// outside the loop must not be missed. Null (and skipped) otherwise.
extern void (*after_idle_poll)();

/// Runs `ctx` until `done()` is true; throws NeverCompleted if the loop runs
/// out of work first. In virtual time, advances the clock when idle.
void drive(boost::asio::io_context& ctx, const std::function<bool()>& done, std::string_view what);

/// What a coroutine started by run_to_completion left behind. Shared with
/// its completion handler, so that a coroutine resumed after the run gave up
/// (NeverCompleted, then a later run of the same io_context) writes here and
/// not into the stack frame of a run that has returned.
template <typename T>
struct TaskResult {
  bool done = false;
  std::exception_ptr error;
  std::optional<T> value;
};
}  // namespace detail

/// Runs the event loop until every handler has run and every timer has fired
/// (advancing virtual time as needed). Returns the number of handlers run.
std::size_t run_until_idle(boost::asio::io_context& ctx);

/// Starts `task` on `ctx`, runs the loop until it finishes, and returns its
/// result (or rethrows its exception). `what` names the task in reports.
template <typename T>
T run_to_completion(boost::asio::io_context& ctx, boost::asio::awaitable<T> task,
                    std::string_view what = "the task") {
  auto outcome = std::make_shared<detail::TaskResult<T>>();
  boost::asio::co_spawn(ctx, std::move(task), [outcome](const std::exception_ptr& e, T value) {
    outcome->done = true;
    outcome->error = e;
    if (!e) outcome->value.emplace(std::move(value));
  });
  detail::drive(
      ctx, [&outcome] { return outcome->done; }, what);
  if (outcome->error) std::rethrow_exception(outcome->error);
  return std::move(*outcome->value);
}

/// The main() of a demo program: runs `body`, and turns an exception that
/// escapes it into a message on stderr naming `demo` and exit code 1.
int run_demo(std::string_view demo, const std::function<void()>& body) noexcept;

/// How many threads a multi-threaded test should run its event loop on:
/// WORKBOOK_LOOP_THREADS if set (the flakiness meter sets 1, 2 and 4), else
/// `fallback`. Tests whose suite name contains "Threads" are run that way.
std::size_t loop_threads(std::size_t fallback);

/// The same for a coroutine that returns nothing.
void run_to_completion(boost::asio::io_context& ctx, boost::asio::awaitable<void> task,
                       std::string_view what = "the task");

}  // namespace workbook
