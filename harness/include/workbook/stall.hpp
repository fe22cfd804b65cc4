// The stall detector: how long did each handler hold the event-loop thread?
//
// An event loop is shared by every coroutine on it; a handler that blocks
// (sleeps, reads a file, hashes a megabyte) stops all the others for that long.
// Spawn coroutines on an executor wrapped by StallDetector::wrap(); every time
// one of them is resumed, the detector measures, in real time, how long it ran
// before it suspended again, and keeps the longest with the coroutine's label.
// Time the thread spent preempted by the operating system (waiting for a CPU)
// is not counted: only time the handler itself kept the thread.
#pragma once

#include <boost/asio/execution.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "workbook/detail/executor_properties.hpp"

namespace workbook {

namespace detail {
struct StallState;

/// Measures one handler run on the current thread (outermost run only).
class HandlerScope {
 public:
  HandlerScope(StallState* state, const std::string* label) noexcept;
  ~HandlerScope();
  HandlerScope(const HandlerScope&) = delete;
  HandlerScope& operator=(const HandlerScope&) = delete;

 private:
  StallState* state_;
  const std::string* label_;
  bool outermost_;
  std::chrono::steady_clock::time_point start_;
  std::optional<std::chrono::nanoseconds> waited_;  // empty where schedstat is missing
};
}  // namespace detail

/// An executor that runs every function through `Inner` and reports how long
/// it ran to a StallDetector. Made by StallDetector::wrap().
template <typename Inner>
class TimedExecutor {
 public:
  /// Wraps `inner`; made by StallDetector::wrap().
  TimedExecutor(Inner inner, std::shared_ptr<detail::StallState> state,
                std::shared_ptr<const std::string> label) noexcept
      : inner_(std::move(inner)), state_(std::move(state)), label_(std::move(label)) {}

  /// Submits `f` to the wrapped executor (the executor concept's one operation).
  template <typename Function>
  void execute(Function&& f) const {
    inner_.execute([state = state_, label = label_, f = std::forward<Function>(f)]() mutable {
      detail::HandlerScope scope(state.get(), label.get());
      std::move(f)();
    });
  }

  /// Queries a property (context, blocking, ...) of the wrapped executor.
  template <detail::QueryableOn<Inner> Property>
  decltype(auto) query(const Property& p) const {
    return boost::asio::query(inner_, p);
  }

  /// The same wrapper around the wrapped executor with property `p` required.
  template <detail::RequirableOn<Inner> Property>
  auto require(const Property& p) const {
    using Required = std::decay_t<decltype(boost::asio::require(inner_, p))>;
    return TimedExecutor<Required>(boost::asio::require(inner_, p), state_, label_);
  }

  /// Equal when they wrap equal executors (and report to the same place).
  friend bool operator==(const TimedExecutor& a, const TimedExecutor& b) noexcept {
    return a.inner_ == b.inner_ && a.state_ == b.state_ && a.label_ == b.label_;
  }

 private:
  template <typename>
  friend class TimedExecutor;

  Inner inner_;
  std::shared_ptr<detail::StallState> state_;
  std::shared_ptr<const std::string> label_;
};

/// Measures how long handlers hold the event-loop thread, in real time.
class StallDetector {
 public:
  /// The longest single handler run seen, and whose it was.
  struct Stall {
    std::string label;                    ///< The label given to wrap().
    std::chrono::nanoseconds duration{};  ///< How long it held the thread.
  };

  /// `budget` is the longest a handler may run before it counts as a stall.
  explicit StallDetector(std::chrono::nanoseconds budget);

  /// An executor that runs on `ex` and reports each handler run under `label`.
  template <typename Executor>
  TimedExecutor<Executor> wrap(const Executor& ex, std::string label) const {
    return TimedExecutor<Executor>(ex, state_,
                                   std::make_shared<const std::string>(std::move(label)));
  }

  /// The longest handler run so far.
  Stall longest() const;
  /// How many handler runs were measured.
  std::size_t handlers() const;
  /// How many of them ran longer than the budget.
  std::size_t over_budget() const;
  /// The budget given at construction.
  std::chrono::nanoseconds budget() const noexcept;
  /// True if any handler ran longer than the budget.
  bool stalled() const;

  /// One sentence for learners. When stalled: "event loop stalled for 52 ms in
  /// handler 'request 3' (budget 20 ms); 8 of 9 handler runs exceeded the
  /// budget". Otherwise: "longest handler run 0.1 ms in 'request 1' (budget
  /// 20 ms); 9 handler runs".
  std::string report() const;

  /// What holds the event-loop threads right now ("handler 'request 2', running
  /// for 998 ms", one clause per loop thread, separated by "; "), or "no
  /// handler is running". Safe to call from any thread.
  std::string describe_running() const;

  /// True while a handler of the event loop is running. Safe to call from any thread.
  bool any_running() const;

  /// A handler running now: its label, its thread (the Linux thread id), and
  /// since when it has held that thread.
  struct Running {
    std::string label;                              ///< The label given to wrap().
    int thread_id = 0;                              ///< The thread's id (gettid).
    std::chrono::steady_clock::time_point since{};  ///< When it started this run.
  };
  /// The handlers running now, one per loop thread; empty if none is, or if
  /// the detector is busy this instant (it never waits: a watchdog calls it).
  std::vector<Running> running_now() const;

 private:
  std::shared_ptr<detail::StallState> state_;
};

}  // namespace workbook
