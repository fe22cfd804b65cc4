// Real and virtual time for workbook::Clock (see clock.hpp).
#include "workbook/clock.hpp"

#include <atomic>
#include <stdexcept>
#include <thread>

#include "virtual_loop.hpp"

namespace workbook {
namespace {

std::atomic<bool> virtual_active{false};
std::atomic<Clock::rep> virtual_now{0};
std::atomic<std::thread::id> virtual_owner{};

}  // namespace

Clock::time_point Clock::now() noexcept {
  if (virtual_active.load(std::memory_order_relaxed)) {
    return time_point(duration(virtual_now.load(std::memory_order_acquire)));
  }
  // Real time counts from the first reading, so that "t=12 ms" in a demo's
  // report means 12 ms after the program started to use the clock.
  static const auto start = std::chrono::steady_clock::now();
  return time_point(std::chrono::duration_cast<duration>(std::chrono::steady_clock::now() - start));
}

Clock::duration ClockWaitTraits::to_wait_duration(const Clock::duration& d) noexcept {
  // Never let the reactor sleep in virtual time: a virtual deadline passes only
  // when the runner moves the clock, and the runner needs the reactor to
  // return at once.
  if (!virtual_active.load(std::memory_order_relaxed)) return d;
  detail::check_reactor_thread();
  return Clock::duration::zero();
}

Clock::duration ClockWaitTraits::to_wait_duration(const Clock::time_point& t) noexcept {
  return to_wait_duration(t - Clock::now());
}

double to_ms(Clock::time_point t) noexcept { return to_ms(t.time_since_epoch()); }

double to_ms(Clock::duration d) noexcept {
  return std::chrono::duration<double, std::milli>(d).count();
}

VirtualTime::VirtualTime() {
  if (virtual_active.exchange(true)) {
    throw std::logic_error(
        "workbook::VirtualTime: a second VirtualTime was created while one exists. Virtual "
        "time is process-wide: create one per test, at the top of the test (a fixture member "
        "is fine), and never nest them.");
  }
  virtual_now.store(0, std::memory_order_release);
  virtual_owner.store(std::this_thread::get_id());
}

VirtualTime::~VirtualTime() { virtual_active.store(false); }

bool VirtualTime::active() noexcept { return virtual_active.load(std::memory_order_relaxed); }

void VirtualTime::advance_to(Clock::time_point t) noexcept {
  Clock::rep now = virtual_now.load(std::memory_order_relaxed);
  while (t.time_since_epoch().count() > now &&
         !virtual_now.compare_exchange_weak(now, t.time_since_epoch().count(),
                                            std::memory_order_acq_rel)) {
  }
}

void VirtualTime::advance_by(Clock::duration d) noexcept { advance_to(Clock::now() + d); }

namespace detail {
std::thread::id virtual_time_owner() noexcept { return virtual_owner.load(); }
}  // namespace detail

}  // namespace workbook
