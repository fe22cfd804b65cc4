// The stall detector measures how long each handler held the event loop.
#include "workbook/stall.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <latch>
#include <string>
#include <thread>

#include "workbook/run.hpp"
#include "workbook/timer.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::HasSubstr;

namespace {

asio::awaitable<void> polite() {
  for (int i = 0; i < 3; ++i) co_await workbook::sleep_for(1ms);
}

asio::awaitable<void> blocking() {
  co_await workbook::sleep_for(1ms);
  std::this_thread::sleep_for(40ms);  // holds the loop thread
}

TEST(StallDetector, NamesTheHandlerThatHeldTheLoop) {
  workbook::VirtualTime time;
  asio::io_context ctx;
  workbook::StallDetector stalls(20ms);
  asio::co_spawn(stalls.wrap(ctx.get_executor(), "polite"), polite(), asio::detached);
  asio::co_spawn(stalls.wrap(ctx.get_executor(), "blocking"), blocking(), asio::detached);
  workbook::run_until_idle(ctx);
  ASSERT_TRUE(stalls.stalled());
  EXPECT_EQ(stalls.longest().label, "blocking");
  EXPECT_GE(stalls.longest().duration, 40ms);
  EXPECT_EQ(stalls.over_budget(), 1u);
  EXPECT_THAT(stalls.report(), HasSubstr("event loop stalled for "));
  EXPECT_THAT(stalls.report(), HasSubstr("in handler 'blocking' (budget 20 ms)"));
}

TEST(StallDetector, CountsEveryResumption) {
  workbook::VirtualTime time;
  asio::io_context ctx;
  workbook::StallDetector stalls(20ms);
  asio::co_spawn(stalls.wrap(ctx.get_executor(), "polite"), polite(), asio::detached);
  workbook::run_until_idle(ctx);
  EXPECT_FALSE(stalls.stalled());
  // The start, then one resumption after each of the three sleeps.
  EXPECT_EQ(stalls.handlers(), 4u);
  EXPECT_THAT(stalls.report(), HasSubstr("longest handler run"));
}

TEST(StallDetector, SaysWhatIsRunningNow) {
  workbook::StallDetector stalls(20ms);
  EXPECT_EQ(stalls.describe_running(), "no handler is running");
}

TEST(StallDetector, NamesEveryHandlerRunningOnSeveralLoopThreads) {
  // Real time: two loop threads, each holding a handler until both are in.
  asio::io_context ctx(2);
  workbook::StallDetector stalls(1s);
  std::latch both_running(2);
  std::promise<void> release;
  auto released = release.get_future().share();
  auto hold = [&]() -> asio::awaitable<void> {
    both_running.count_down();
    released.wait();
    co_return;
  };
  asio::co_spawn(stalls.wrap(ctx.get_executor(), "first"), hold(), asio::detached);
  asio::co_spawn(stalls.wrap(ctx.get_executor(), "second"), hold(), asio::detached);
  std::thread a([&] { ctx.run(); });
  std::thread b([&] { ctx.run(); });
  both_running.wait();
  const std::string running = stalls.describe_running();
  release.set_value();
  a.join();
  b.join();
  EXPECT_THAT(running, HasSubstr("handler 'first', running for"));
  EXPECT_THAT(running, HasSubstr("handler 'second', running for"));
  EXPECT_EQ(stalls.describe_running(), "no handler is running");
}

}  // namespace
