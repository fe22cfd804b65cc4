// Virtual time's bookkeeping per io_context (see virtual_loop.hpp).
#include "virtual_loop.hpp"

#include <boost/asio/detail/thread_context.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "workbook/timer.hpp"

namespace workbook::detail {
namespace {

// The one thread driving virtual time, process-wide: the clock is
// process-wide, so two runners moving it at once would move it under each
// other's handlers.
std::mutex driving_mutex;
std::thread::id driving_thread;
int driving_depth = 0;  // runs nested on the driving thread
thread_local bool this_thread_drives = false;

}  // namespace

boost::asio::execution_context::id LoopTimers::id;

void LoopTimers::add(Clock::time_point deadline) {
  std::lock_guard lock(mutex_);
  deadlines_.insert(deadline);
}

void LoopTimers::remove(Clock::time_point deadline) noexcept {
  std::lock_guard lock(mutex_);
  // Equal deadlines are interchangeable: any one of them goes.
  if (auto it = deadlines_.find(deadline); it != deadlines_.end()) deadlines_.erase(it);
}

Clock::time_point LoopTimers::next_after(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  auto it = deadlines_.upper_bound(now);
  return it == deadlines_.end() ? Clock::time_point::max() : *it;
}

bool LoopTimers::has_pending() const {
  std::lock_guard lock(mutex_);
  return !deadlines_.empty();
}

void LoopTimers::check_completion_thread() const {
  std::thread::id driver;
  {
    std::lock_guard lock(mutex_);
    driver = driver_;
  }
  if (driver == std::this_thread::get_id()) return;
  if (driver == std::thread::id()) {
    throw std::logic_error(
        "virtual time: a workbook::Timer completed on an execution context that no runner "
        "drives. In virtual time only workbook::run_to_completion or workbook::run_until_idle "
        "can move the clock: run the io_context with one of them, not with io_context::run(), "
        "and wait on the event loop's executor, not on a thread pool's.");
  }
  throw std::logic_error(
      "virtual time: a workbook::Timer completed on a thread other than the one running "
      "workbook::run_to_completion. Virtual time drives an io_context from one thread; a "
      "multi-threaded loop would let time move in the middle of a handler. Run tests with "
      "several loop threads in real time (no workbook::VirtualTime).");
}

LoopTimers::Driving::Driving(LoopTimers& timers) : timers_(timers) {
  {
    std::lock_guard lock(driving_mutex);
    if (driving_depth > 0 && driving_thread != std::this_thread::get_id()) {
      throw std::logic_error(
          "virtual time: two threads are running workbook::run_to_completion at once. The "
          "virtual clock is process-wide, so one runner would move it under the other's "
          "handlers; drive one io_context at a time, from one thread.");
    }
    driving_thread = std::this_thread::get_id();
    ++driving_depth;
  }
  this_thread_drives = true;
  std::lock_guard lock(timers_.mutex_);
  previous_ = std::exchange(timers_.driver_, std::this_thread::get_id());
}

LoopTimers::Driving::~Driving() {
  {
    std::lock_guard lock(timers_.mutex_);
    timers_.driver_ = previous_;
  }
  std::lock_guard lock(driving_mutex);
  if (--driving_depth == 0) {
    driving_thread = std::thread::id();
    this_thread_drives = false;
  }
}

void check_reactor_thread() noexcept {
  thread_local std::uint64_t undriven_turns = 0;
  if (this_thread_drives) {
    undriven_turns = 0;
    return;
  }
  // Outside any event loop (a timer started before the run, say), nothing
  // waits yet: the runner will drive it.
  if (boost::asio::detail::thread_context::top_of_thread_call_stack() == nullptr) return;
  // About two seconds of a spinning epoll loop on this workbook's machines.
  constexpr std::uint64_t kSpinningTurns = 50'000;
  if (std::this_thread::get_id() == virtual_time_owner() && ++undriven_turns < kSpinningTurns) {
    return;
  }
  std::fputs(
      "virtual time: an event loop that no workbook runner drives is waiting for a "
      "workbook::Timer (io_context::run() on a thread of its own, a multi-threaded loop, or a "
      "timer on a thread pool). Only workbook::run_to_completion or workbook::run_until_idle "
      "can move the virtual clock, from one thread: this loop would spin for good. Drive the "
      "io_context with them, or run this test in real time (no workbook::VirtualTime).\n",
      stderr);
  std::fflush(stderr);
  std::abort();
}

LoopTimers& loop_timers_of(boost::asio::execution_context& ctx) {
  return boost::asio::use_service<LoopTimers>(ctx);
}

LoopTimers* loop_timers(const boost::asio::any_io_executor& ex) {
  if (!VirtualTime::active()) return nullptr;
  return &loop_timers_of(boost::asio::query(ex, boost::asio::execution::context));
}

}  // namespace workbook::detail
