// Virtual time: timers on workbook::Clock fire in deadline order, and the
// runner jumps the clock to the next deadline whenever the loop is idle.
#include "workbook/clock.hpp"

#include <gtest/gtest.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "workbook/run.hpp"
#include "workbook/timer.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using workbook::Clock;

namespace {

asio::awaitable<Clock::duration> timed_sleep(Clock::duration d) {
  const auto start = Clock::now();
  co_await workbook::sleep_for(d);
  co_return Clock::now() - start;
}

TEST(VirtualTime, StartsAtZeroAndOnlyMovesWhenTheLoopIsIdle) {
  workbook::VirtualTime time;
  EXPECT_EQ(Clock::now(), Clock::time_point{});
  asio::io_context ctx;
  const auto slept = workbook::run_to_completion(ctx, timed_sleep(250ms));
  EXPECT_EQ(slept, 250ms);
  EXPECT_EQ(Clock::now(), Clock::time_point{} + 250ms);
}

TEST(VirtualTime, AnHourOfTimersTakesMilliseconds) {
  workbook::VirtualTime time;
  asio::io_context ctx;
  const auto real_start = std::chrono::steady_clock::now();
  workbook::run_to_completion(ctx, []() -> asio::awaitable<void> {
    for (int minute = 0; minute < 60; ++minute) co_await workbook::sleep_for(1min);
  }());
  EXPECT_EQ(Clock::now(), Clock::time_point{} + 1h);
  // Not a timing assertion on the code under test: a guard that time is virtual.
  EXPECT_LT(std::chrono::steady_clock::now() - real_start, 5s);
}

TEST(VirtualTime, ConcurrentTimersFireInDeadlineOrder) {
  workbook::VirtualTime time;
  asio::io_context ctx;
  std::vector<std::string> order;
  auto waiter = [&](std::string name, Clock::duration d) -> asio::awaitable<void> {
    co_await workbook::sleep_for(d);
    order.push_back(name + "@" + std::to_string(workbook::to_ms(Clock::now())).substr(0, 4));
  };
  using namespace asio::experimental::awaitable_operators;
  workbook::run_to_completion(ctx, waiter("c", 30ms) && waiter("a", 10ms) && waiter("b", 20ms));
  EXPECT_EQ(order, (std::vector<std::string>{"a@10.0", "b@20.0", "c@30.0"}));
  EXPECT_EQ(Clock::now(), Clock::time_point{} + 30ms);
}

TEST(VirtualTime, RacingATimerCancelsTheLoser) {
  workbook::VirtualTime time;
  asio::io_context ctx;
  using namespace asio::experimental::awaitable_operators;
  auto result = workbook::run_to_completion(ctx, timed_sleep(5ms) || timed_sleep(1h));
  EXPECT_EQ(result.index(), 0u);
  // The one-hour sleep was cancelled, so the loop went idle at 5 ms.
  workbook::run_until_idle(ctx);
  EXPECT_EQ(Clock::now(), Clock::time_point{} + 5ms);
}

TEST(RealTime, SleepTakesRealTime) {
  ASSERT_FALSE(workbook::VirtualTime::active());
  asio::io_context ctx;
  const auto slept = workbook::run_to_completion(ctx, timed_sleep(2ms));
  EXPECT_GE(slept, 2ms);
}

}  // namespace
