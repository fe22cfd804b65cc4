// Virtual time's bookkeeping per io_context (private to the harness): the
// deadlines of pending workbook::Timer waits, and which thread drives the
// context. Timer registers deadlines (timer.hpp); the runner (run.cpp) reads
// the next one and claims the context while it drives it.
#pragma once

#include <boost/asio/execution_context.hpp>
#include <mutex>
#include <set>
#include <thread>

#include "workbook/clock.hpp"

namespace workbook::detail {

/// An io_context's pending timer deadlines, as an Asio service of that context.
class LoopTimers final : public boost::asio::execution_context::service {
 public:
  /// Identifies the service to Asio's service registry.
  static boost::asio::execution_context::id id;

  explicit LoopTimers(boost::asio::execution_context& owner) : service(owner) {}

  void add(Clock::time_point deadline);
  void remove(Clock::time_point deadline) noexcept;

  /// The earliest deadline later than `now`, or time_point::max() if none.
  /// Deadlines at or before `now` have fired already: their completions are
  /// queued, and only the loop's next poll can run them.
  Clock::time_point next_after(Clock::time_point now) const;

  /// True while any wait is pending (its deadline may have passed, or be never).
  bool has_pending() const;

  /// Throws std::logic_error unless the calling thread drives this context.
  void check_completion_thread() const;

  /// While alive, the calling thread drives this context in virtual time.
  /// Throws std::logic_error if another thread drives any context already.
  class Driving {
   public:
    explicit Driving(LoopTimers& timers);
    ~Driving();
    Driving(const Driving&) = delete;
    Driving& operator=(const Driving&) = delete;

   private:
    LoopTimers& timers_;
    std::thread::id previous_;
  };

 private:
  void shutdown() override {}

  mutable std::mutex mutex_;
  std::multiset<Clock::time_point> deadlines_;
  std::thread::id driver_;  // guarded by mutex_
};

/// Called when a reactor asks how long it may sleep for a timer, in virtual
/// time. Ends the process with a message if the asking thread runs an event
/// loop without driving virtual time, where its timers could only wait for
/// good, spinning: at once on a thread other than the test's (a second loop
/// thread, a thread pool's thread); on the test's own thread only after
/// 50,000 idle turns, since a test may poll() its loop by hand. (It cannot
/// throw: Asio asks from inside its reactor, through a noexcept function.)
void check_reactor_thread() noexcept;

/// The thread that created the current VirtualTime (clock.cpp).
std::thread::id virtual_time_owner() noexcept;

/// The LoopTimers of `ctx`, created on first use.
LoopTimers& loop_timers_of(boost::asio::execution_context& ctx);

}  // namespace workbook::detail
