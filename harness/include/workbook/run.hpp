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
/// Runs `ctx` until `done` becomes true; throws NeverCompleted if the loop
/// runs out of work first. In virtual time, advances the clock when idle.
void drive(boost::asio::io_context& ctx, const bool& done, std::string_view what);
}  // namespace detail

/// Runs the event loop until every handler has run and every timer has fired
/// (advancing virtual time as needed). Returns the number of handlers run.
std::size_t run_until_idle(boost::asio::io_context& ctx);

/// Starts `task` on `ctx`, runs the loop until it finishes, and returns its
/// result (or rethrows its exception). `what` names the task in reports.
template <typename T>
T run_to_completion(boost::asio::io_context& ctx, boost::asio::awaitable<T> task,
                    std::string_view what = "the task") {
  bool done = false;
  std::exception_ptr error;
  std::optional<T> result;
  boost::asio::co_spawn(ctx, std::move(task), [&](const std::exception_ptr& e, T value) {
    done = true;
    error = e;
    if (!e) result.emplace(std::move(value));
  });
  detail::drive(ctx, done, what);
  if (error) std::rethrow_exception(error);
  return std::move(*result);
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
