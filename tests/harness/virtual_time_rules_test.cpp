// Virtual time's rules, and the faults it had before they were enforced:
// one VirtualTime at a time, one driving thread, deadlines per io_context,
// external work counted until it is done with, and a run that gave up leaving
// nothing behind that a later run could write into.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <future>
#include <optional>
#include <stdexcept>
#include <thread>

#include "workbook/clock.hpp"
#include "workbook/offload.hpp"
#include "workbook/run.hpp"
#include "workbook/timer.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::HasSubstr;
using workbook::Clock;

namespace {

TEST(VirtualTimeRules, ASecondVirtualTimeIsAnErrorInEveryBuild) {
  workbook::VirtualTime time;
  workbook::VirtualTime::advance_by(5ms);
  try {
    workbook::VirtualTime nested;
    FAIL() << "a nested VirtualTime was accepted";
  } catch (const std::logic_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("a second VirtualTime was created while one exists"));
  }
  // The first one is untouched: the clock was not reset, and it is still virtual.
  EXPECT_TRUE(workbook::VirtualTime::active());
  EXPECT_EQ(Clock::now(), Clock::time_point{} + 5ms);
}

TEST(VirtualTimeRules, AnotherContextsTimersDoNotMoveThisRunnersClock) {
  workbook::VirtualTime time;
  asio::io_context ours;
  asio::io_context other;
  // A wait pending on another io_context, due long before ours finishes.
  workbook::Timer elsewhere(other.get_executor(), 1ms);
  elsewhere.async_wait([](boost::system::error_code) {});
  const auto slept = workbook::run_to_completion(ours, []() -> asio::awaitable<Clock::time_point> {
    co_await workbook::sleep_for(10ms);
    co_return Clock::now();
  }());
  EXPECT_EQ(slept, Clock::time_point{} + 10ms);
  // And its far deadline is not ours to wait for: our loop is idle at 10 ms.
  workbook::Timer far(other.get_executor(), 1h);
  far.async_wait([](boost::system::error_code) {});
  workbook::run_until_idle(ours);
  EXPECT_EQ(Clock::now(), Clock::time_point{} + 10ms);
}

TEST(VirtualTimeRules, WorkFinishingRightAfterAnIdlePollIsNotOvertakenByTheClock) {
  // The race this guards against: poll() finds nothing to run; external work
  // (a pool job) then posts its completion and ends; a runner that read the
  // count of external work only now sees zero and moves the clock, so the
  // completion runs at a later virtual time. The window is nanoseconds wide in
  // real runs, so the test opens it on purpose, through the runner's hook.
  workbook::VirtualTime time;
  asio::io_context ctx;
  static asio::io_context* loop = nullptr;
  static std::optional<workbook::ExternalWork> job;
  static std::optional<Clock::time_point> completed_at;
  loop = &ctx;
  job.emplace();  // outstanding until the hook ends it
  workbook::detail::after_idle_poll = [] {
    if (!job) return;
    asio::post(*loop, [] { completed_at = Clock::now(); });
    job.reset();  // the job is done with, right after posting its completion
  };
  auto waits_for_a_timer = []() -> asio::awaitable<void> { co_await workbook::sleep_for(5ms); };
  workbook::run_to_completion(ctx, waits_for_a_timer());
  workbook::detail::after_idle_poll = nullptr;
  ASSERT_TRUE(completed_at.has_value()) << "the job's completion never ran";
  EXPECT_EQ(*completed_at, Clock::time_point{})
      << "the job's completion ran at t=" << workbook::to_ms(*completed_at)
      << " ms: the clock moved past work that had finished at t=0";
}

TEST(VirtualTimeRules, APoolDestroyedWithQueuedJobsLeavesNoCountBehind) {
  workbook::VirtualTime time;
  {
    workbook::BlockingPool pool(1);
    std::promise<void> release;
    auto gate = release.get_future().share();
    asio::post(pool.get_executor(), [gate] { gate.wait(); });
    for (int i = 0; i < 5; ++i) asio::post(pool.get_executor(), [] {});
    EXPECT_GE(workbook::pending_external_work(), 1u);
    release.set_value();
    // The pool is destroyed here: it stops, and drops whatever is still queued.
  }
  EXPECT_EQ(workbook::pending_external_work(), 0u);
  // So a run afterwards is not stuck waiting for jobs that will never run.
  asio::io_context ctx;
  workbook::run_to_completion(ctx, workbook::sleep_for(1ms));
  EXPECT_EQ(Clock::now(), Clock::time_point{} + 1ms);
}

TEST(VirtualTimeRules, ATaskResumedAfterItsRunGaveUpWritesNowhereDead) {
  workbook::VirtualTime time;
  asio::io_context ctx;
  workbook::Timer gate(ctx.get_executor(), Clock::time_point::max());
  auto waits_at_the_gate = [&]() -> asio::awaitable<int> {
    boost::system::error_code ec;
    co_await gate.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return 7;
  };
  EXPECT_THROW(workbook::run_to_completion(ctx, waits_at_the_gate(), "the gated task"),
               workbook::NeverCompleted);
  // The run has returned; its task is still suspended in ctx. Resuming it must
  // not write into the returned run's stack (AddressSanitizer would say so).
  gate.cancel();
  EXPECT_GE(workbook::run_until_idle(ctx), 1u);
}

TEST(VirtualTimeRules, TwoThreadsDrivingAtOnceIsAnError) {
  workbook::VirtualTime time;
  asio::io_context first;
  asio::io_context second;
  workbook::BlockingPool pool(1);
  std::promise<void> driving;
  std::promise<void> release;
  auto release_gate = release.get_future().share();
  std::thread other([&] {
    workbook::run_to_completion(first, [&]() -> asio::awaitable<void> {
      driving.set_value();
      // Named first: GCC 12 destroys a capturing lambda passed as a temporary
      // inside a co_await expression twice.
      auto wait_for_release = [release_gate] { release_gate.wait(); };
      co_await workbook::offload(pool.get_executor(), std::move(wait_for_release));
    }());
  });
  driving.get_future().wait();
  try {
    workbook::run_to_completion(second, workbook::sleep_for(1ms));
    ADD_FAILURE() << "a second thread was allowed to drive virtual time";
  } catch (const std::logic_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("two threads are running workbook::run_to_completion"));
  }
  release.set_value();
  other.join();
}

TEST(VirtualTimeRulesDeathTest, ALoopRunOnAThreadOfItsOwnIsStoppedWithAMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        workbook::VirtualTime time;
        asio::io_context ctx;
        asio::co_spawn(ctx, workbook::sleep_for(1ms), asio::detached);
        // Not a workbook runner: nothing can move the clock, so it would spin.
        std::thread([&] { ctx.run(); }).join();
      },
      "an event loop that no workbook runner drives is waiting for a workbook::Timer");
}

TEST(VirtualTimeRulesDeathTest, APlainRunOnTheTestsThreadIsStoppedWhenItSpins) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        workbook::VirtualTime time;
        asio::io_context ctx;
        asio::co_spawn(ctx, workbook::sleep_for(1ms), asio::detached);
        ctx.run();
      },
      "this loop would spin for good");
}

}  // namespace
