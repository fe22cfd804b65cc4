// Real and virtual time for workbook::Clock (see clock.hpp).
#include "workbook/clock.hpp"

#include <atomic>
#include <cassert>

namespace workbook {
namespace {

std::atomic<bool> virtual_active{false};
std::atomic<Clock::rep> virtual_now{0};
// The earliest deadline Asio asked the wait traits about since the runner's last
// reset: Asio computes "deadline - now" for the earliest pending timer whenever
// it re-arms its timer, which in virtual time is on every turn of the reactor.
std::atomic<Clock::rep> earliest_deadline{Clock::duration::max().count()};

void note_deadline(Clock::rep deadline) noexcept {
  Clock::rep seen = earliest_deadline.load(std::memory_order_relaxed);
  while (deadline < seen &&
         !earliest_deadline.compare_exchange_weak(seen, deadline, std::memory_order_relaxed)) {
  }
}

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
  if (!virtual_active.load(std::memory_order_relaxed)) return d;
  const Clock::rep now = virtual_now.load(std::memory_order_acquire);
  const Clock::rep max = Clock::duration::max().count();
  note_deadline(d.count() > max - now ? max : now + d.count());
  // Never let the reactor sleep: a virtual deadline passes only when the runner
  // moves the clock, and the runner needs the reactor to return at once.
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
  [[maybe_unused]] const bool was_active = virtual_active.exchange(true);
  assert(!was_active && "only one workbook::VirtualTime may exist at a time");
  virtual_now.store(0, std::memory_order_release);
  detail::reset_next_deadline();
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

void reset_next_deadline() noexcept {
  earliest_deadline.store(Clock::duration::max().count(), std::memory_order_relaxed);
}

Clock::time_point next_deadline() noexcept {
  return Clock::time_point(Clock::duration(earliest_deadline.load(std::memory_order_relaxed)));
}

}  // namespace detail
}  // namespace workbook
