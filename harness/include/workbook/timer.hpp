// Timers on the workbook clock. Use workbook::sleep_for in chapter code; use
// workbook::Timer directly when you need to cancel a wait or race it (`||`).
//
// workbook::Timer is Asio's basic_waitable_timer on workbook::Clock with one
// addition: in virtual time, each pending wait registers its deadline with the
// io_context it runs on (and removes it when the wait completes, is cancelled
// or is destroyed), so the runner knows the next deadline of that context and
// nothing else. That is all virtual time needs from Asio: it works the same on
// every reactor (epoll, select, io_uring).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <utility>

#include "workbook/clock.hpp"

namespace workbook {

namespace detail {
class LoopTimers;

/// While alive, a pending wait's deadline, known to the runner of the
/// io_context the wait runs on. Empty (and free) in real time.
class PendingDeadline {
 public:
  PendingDeadline() noexcept = default;
  /// Registers `deadline` with `timers` (nothing if `timers` is null).
  PendingDeadline(LoopTimers* timers, Clock::time_point deadline);
  PendingDeadline(PendingDeadline&& other) noexcept
      : timers_(std::exchange(other.timers_, nullptr)), deadline_(other.deadline_) {}
  PendingDeadline& operator=(PendingDeadline&&) = delete;
  PendingDeadline(const PendingDeadline&) = delete;
  PendingDeadline& operator=(const PendingDeadline&) = delete;
  ~PendingDeadline() { release(); }

  /// The wait completed: forgets the deadline, and checks that the completion
  /// runs on the thread that drives virtual time (throws std::logic_error if not).
  void complete();

 private:
  void release() noexcept;

  LoopTimers* timers_ = nullptr;
  Clock::time_point deadline_{};
};

/// The deadline registry of the io_context behind `ex` in virtual time, or
/// null in real time (looked up at each wait, so a timer made before a
/// VirtualTime still counts).
LoopTimers* loop_timers(const boost::asio::any_io_executor& ex);
}  // namespace detail

/// An Asio timer that follows workbook::Clock, so it is virtual in tests.
/// It has the members of boost::asio::basic_waitable_timer that the workbook
/// uses; async_wait takes any completion token (use_awaitable, deferred, ...).
class Timer {
 public:
  using clock_type = Clock;                            ///< workbook::Clock.
  using duration = Clock::duration;                    ///< Nanoseconds.
  using time_point = Clock::time_point;                ///< A point in workbook time.
  using executor_type = boost::asio::any_io_executor;  ///< Where the waits run.

  /// A timer that has expired already (set it with expires_at/expires_after).
  explicit Timer(const executor_type& ex);
  /// A timer that expires at `expiry`.
  Timer(const executor_type& ex, time_point expiry);
  /// A timer that expires `expiry` from now.
  Timer(const executor_type& ex, duration expiry);

  /// The executor the timer's waits run on.
  executor_type get_executor() noexcept { return timer_.get_executor(); }
  /// When the timer expires.
  time_point expiry() const { return timer_.expiry(); }
  /// Sets the expiry; cancels pending waits and returns how many.
  std::size_t expires_at(time_point t) { return timer_.expires_at(t); }
  /// Sets the expiry relative to now; cancels pending waits and returns how many.
  std::size_t expires_after(duration d) { return timer_.expires_after(d); }
  /// Cancels pending waits (they complete with operation_aborted); returns how many.
  std::size_t cancel() { return timer_.cancel(); }

  /// Waits until the expiry. Completes with operation_aborted if cancelled.
  template <typename Token = boost::asio::default_completion_token_t<executor_type>>
  auto async_wait(Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto handler) {
          auto* timers = detail::loop_timers(timer_.get_executor());
          // The handler is wrapped to forget the deadline when the wait ends;
          // the wrapper keeps the handler's executor and cancellation slot.
          auto slot = boost::asio::get_associated_cancellation_slot(handler);
          auto ex = boost::asio::get_associated_executor(handler, timer_.get_executor());
          timer_.async_wait(boost::asio::bind_cancellation_slot(
              slot, boost::asio::bind_executor(
                        ex, [pending = detail::PendingDeadline(timers, timer_.expiry()),
                             handler = std::move(handler)](boost::system::error_code ec) mutable {
                          pending.complete();
                          std::move(handler)(ec);
                        })));
        },
        token);
  }

 private:
  boost::asio::basic_waitable_timer<Clock, ClockWaitTraits> timer_;
};

/// Suspends the calling coroutine for `d` of workbook time. The event loop
/// keeps running other handlers meanwhile. Cancellable like any Asio wait:
/// a cancelled sleep throws boost::system::system_error(operation_aborted).
boost::asio::awaitable<void> sleep_for(Clock::duration d);

}  // namespace workbook
