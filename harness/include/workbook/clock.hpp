// The workbook's clock: real time in demos and benchmarks, virtual time in tests.
//
// Every timer in the workbook (the mock database's latency, a chapter's timeout,
// a retry's backoff) runs on workbook::Clock. By default it is std::chrono's
// steady clock. A test that creates a VirtualTime object switches the whole
// process to virtual time: the clock stands still while handlers run and jumps
// to the next timer's deadline whenever the event loop has nothing else to do,
// so an hour of simulated database time passes in milliseconds and every
// figure a test asserts on is the same on every run. The chapter code is the
// same compiled code in both modes.
//
// Virtual time has rules, and breaking one is an error (std::logic_error), not
// a wrong answer: one VirtualTime at a time; the loop is driven by
// workbook::run_to_completion or workbook::run_until_idle on one thread, one
// io_context at a time; timers run on an io_context. See docs/harness.md.
#pragma once

#include <chrono>
#include <cstdint>

namespace workbook {

/// A steady clock whose "now" is real or virtual (see VirtualTime).
struct Clock {
  using duration = std::chrono::nanoseconds;                    ///< Nanoseconds.
  using rep = duration::rep;                                    ///< The tick count type.
  using period = duration::period;                              ///< std::nano.
  using time_point = std::chrono::time_point<Clock, duration>;  ///< A point in workbook time.
  static constexpr bool is_steady = true;                       ///< Never goes backwards.

  /// The current time: in real time, std::chrono::steady_clock's since the
  /// clock was first read; in virtual time, the virtual time.
  static time_point now() noexcept;
};

/// Asio wait traits for Clock: in virtual time the reactor must never sleep on
/// a timer, because virtual deadlines pass only when the runner advances time.
/// (The runner learns the deadlines from workbook::Timer itself, not from
/// here: which reactors consult the traits, and when, is an Asio detail.)
struct ClockWaitTraits {
  /// How long Asio may sleep for a timer due in `d`: `d` in real time, zero
  /// in virtual time.
  static Clock::duration to_wait_duration(const Clock::duration& d) noexcept;
  /// The same for a timer due at `t`.
  static Clock::duration to_wait_duration(const Clock::time_point& t) noexcept;
};

/// Milliseconds since time zero, for messages ("at t=12 ms").
double to_ms(Clock::time_point t) noexcept;

/// A duration in milliseconds, for messages ("took 30 ms").
double to_ms(Clock::duration d) noexcept;

/// Switches the process to virtual time for the lifetime of this object.
///
/// Time starts at zero. Only one VirtualTime may exist at a time: creating a
/// second one throws std::logic_error (in every build), because it would reset
/// the clock under the first, and its end would switch the process back to
/// real time under the first's feet. The event loop must be driven by
/// workbook::run_to_completion (or workbook::run_until_idle), which advances
/// the clock when the loop is idle.
class VirtualTime {
 public:
  /// Throws std::logic_error if another VirtualTime exists.
  VirtualTime();
  ~VirtualTime();
  VirtualTime(const VirtualTime&) = delete;
  VirtualTime& operator=(const VirtualTime&) = delete;

  /// True while a VirtualTime object exists.
  static bool active() noexcept;

  /// Moves virtual time forward to `t` (never backwards).
  static void advance_to(Clock::time_point t) noexcept;

  /// Moves virtual time forward by `d`.
  static void advance_by(Clock::duration d) noexcept;
};

}  // namespace workbook
