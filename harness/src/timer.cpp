// workbook::Timer and sleep_for, compiled once so that chapter code does not
// instantiate Asio's timer templates itself.
#include "workbook/timer.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "virtual_loop.hpp"

namespace workbook {

namespace detail {

PendingDeadline::PendingDeadline(LoopTimers* timers, Clock::time_point deadline)
    : timers_(timers), deadline_(deadline) {
  if (timers_ != nullptr) timers_->add(deadline_);
}

void PendingDeadline::release() noexcept {
  if (timers_ != nullptr) std::exchange(timers_, nullptr)->remove(deadline_);
}

void PendingDeadline::complete() {
  LoopTimers* timers = timers_;
  release();
  if (timers != nullptr) timers->check_completion_thread();
}

}  // namespace detail

Timer::Timer(const executor_type& ex) : timer_(ex) {}
Timer::Timer(const executor_type& ex, time_point expiry) : timer_(ex, expiry) {}
Timer::Timer(const executor_type& ex, duration expiry) : timer_(ex, expiry) {}

boost::asio::awaitable<void> sleep_for(Clock::duration d) {
  Timer timer(co_await boost::asio::this_coro::executor, d);
  co_await timer.async_wait(boost::asio::use_awaitable);
}

}  // namespace workbook
