// The runner reports a coroutine that can never complete instead of hanging;
// the watchdog ends a blocked process with a deadlock report; work offloaded
// to a BlockingPool is waited for in virtual time.
#include "workbook/run.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>

#include "workbook/offload.hpp"
#include "workbook/stall.hpp"
#include "workbook/timer.hpp"
#include "workbook/trace.hpp"
#include "workbook/watchdog.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::HasSubstr;
using workbook::Clock;

namespace {

TEST(RunToCompletion, ReturnsTheResult) {
  workbook::VirtualTime time;
  asio::io_context ctx;
  auto answer = []() -> asio::awaitable<int> {
    co_await workbook::sleep_for(10ms);
    co_return 42;
  };
  EXPECT_EQ(workbook::run_to_completion(ctx, answer()), 42);
}

TEST(RunToCompletion, RethrowsTheCoroutinesException) {
  workbook::VirtualTime time;
  asio::io_context ctx;
  auto failing = []() -> asio::awaitable<void> {
    co_await workbook::sleep_for(1ms);
    throw std::runtime_error("saving note 7: connection reset");
  };
  EXPECT_THROW(workbook::run_to_completion(ctx, failing()), std::runtime_error);
}

TEST(RunToCompletion, ReportsACoroutineThatCanNeverComplete) {
  workbook::VirtualTime time;
  asio::io_context ctx;
  workbook::Trace trace("test trace");
  trace.begin("read", "notes/9");
  auto stuck = [&]() -> asio::awaitable<void> {
    workbook::Timer forever(co_await asio::this_coro::executor, Clock::time_point::max());
    co_await forever.async_wait(asio::use_awaitable);
  };
  try {
    workbook::run_to_completion(ctx, stuck(), "the stuck request");
    FAIL() << "expected NeverCompleted";
  } catch (const workbook::NeverCompleted& e) {
    EXPECT_THAT(e.what(), HasSubstr("never completed: the stuck request was still waiting"));
    EXPECT_THAT(e.what(), HasSubstr("read notes/9, pending since t=0.0 ms (test trace)"));
  }
}

TEST(RunToCompletion, APlainAsioTimerGetsAMessageThatNamesTheWorkbookTimer) {
  workbook::VirtualTime time;
  asio::io_context ctx;
  auto plain_sleep = []() -> asio::awaitable<void> {
    asio::steady_timer timer(co_await asio::this_coro::executor, 10ms);
    co_await timer.async_wait(asio::use_awaitable);
  };
  try {
    workbook::run_to_completion(ctx, plain_sleep(), "the plain sleep");
    FAIL() << "expected NeverCompleted";
  } catch (const workbook::NeverCompleted& e) {
    EXPECT_THAT(e.what(), HasSubstr("pending work that virtual time cannot see"));
    EXPECT_THAT(e.what(), HasSubstr("use workbook::Timer or workbook::sleep_for"));
  }
}

TEST(RunToCompletion, APrivateThreadPoolGetsAMessageThatNamesTheBlockingPool) {
  workbook::VirtualTime time;
  asio::io_context ctx;
  asio::thread_pool private_pool(1);
  std::promise<void> release;
  auto gate = release.get_future().share();
  auto wait_at_the_gate = [](std::shared_future<void> gate) -> asio::awaitable<void> {
    gate.wait();
    co_return;
  };
  auto job = [&]() -> asio::awaitable<void> {
    // Started first, then awaited: GCC 12 destroys a temporary made inside a
    // co_await expression twice.
    auto on_the_pool = asio::co_spawn(private_pool, wait_at_the_gate(gate), asio::use_awaitable);
    co_await std::move(on_the_pool);
  };
  try {
    workbook::run_to_completion(ctx, job(), "the job on a private pool");
    ADD_FAILURE() << "expected NeverCompleted";
  } catch (const workbook::NeverCompleted& e) {
    EXPECT_THAT(e.what(), HasSubstr("use workbook::BlockingPool with workbook::offload"));
  }
  release.set_value();
  private_pool.join();
  workbook::run_until_idle(ctx);  // the job's completion, now delivered
}

TEST(RunToCompletion, WaitsForBlockingPoolWorkBeforeMovingVirtualTime) {
  workbook::VirtualTime time;
  asio::io_context ctx;
  workbook::BlockingPool pool(1);
  auto job = [&]() -> asio::awaitable<Clock::time_point> {
    co_await workbook::offload(pool.get_executor(), [] { std::this_thread::sleep_for(20ms); });
    co_return Clock::now();
  };
  auto timer = []() -> asio::awaitable<Clock::time_point> {
    co_await workbook::sleep_for(5ms);
    co_return Clock::now();
  };
  auto both = [&]() -> asio::awaitable<std::pair<Clock::time_point, Clock::time_point>> {
    auto ex = co_await asio::this_coro::executor;
    auto a = asio::co_spawn(ex, job(), asio::use_awaitable);
    auto b = asio::co_spawn(ex, timer(), asio::use_awaitable);
    const auto job_done = co_await std::move(a);
    co_return std::pair{job_done, co_await std::move(b)};
  };
  const auto [job_done, timer_done] = workbook::run_to_completion(ctx, both());
  // The blocking job finished before virtual time moved at all, on every run.
  EXPECT_EQ(job_done, Clock::time_point{});
  EXPECT_EQ(timer_done, Clock::time_point{} + 5ms);
}

TEST(Watchdog, ReportIsReadable) {
  workbook::Watchdog dog(10s, "2 requests through a pool of 1");
  EXPECT_THAT(dog.report(),
              HasSubstr("deadlock: 2 requests through a pool of 1 did not complete within "
                        "10000 ms of real time"));
}

// A blocked thread is a deadlock, and is not said to be running (./workbook check
// would call it a loop that never ends).
TEST(WatchdogDeathTest, EndsABlockedProcessWithTheReport) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        workbook::Watchdog dog(100ms, "a future awaited on the loop thread");
        std::promise<int> never;
        never.get_future().get();  // blocks for good
      },
      testing::ExitedWithCode(workbook::kDeadlockExitCode),
      testing::AllOf(
          HasSubstr("deadlock: a future awaited on the loop thread did not complete within 100 ms"),
          testing::Not(HasSubstr("kept running"))));
}

// A thread that keeps running is told apart from one that waits: ./workbook
// check says "hung" for the first, whatever the report's first line says.
TEST(WatchdogDeathTest, SaysWhenAThreadKeptRunning) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        workbook::Watchdog dog(100ms, "a loop that never ends");
        for (volatile bool spinning = true; spinning;) {
        }
      },
      testing::ExitedWithCode(workbook::kDeadlockExitCode), "A thread kept running all the time");
}

// With a limit on blocking, a handler asleep on the loop thread ends the run
// once it has slept that long, long before the budget.
TEST(WatchdogDeathTest, EndsEarlyWhenAHandlerStaysBlocked) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        asio::io_context ctx;
        const workbook::StallDetector stalls(15ms);
        workbook::Watchdog dog(60s, "a handler waiting for a future", stalls, 50ms);
        asio::post(stalls.wrap(ctx.get_executor(), "the waiting handler"), [] {
          std::promise<int> never;
          never.get_future().get();  // blocks for good
        });
        ctx.run();
      },
      testing::ExitedWithCode(workbook::kDeadlockExitCode),
      testing::AllOf(HasSubstr("deadlock: a handler waiting for a future did not complete: the "
                               "event-loop thread has been blocked for "),
                     HasSubstr("in handler 'the waiting handler' (asleep"),
                     testing::Not(HasSubstr("within 60000 ms"))));
}

// A handler that keeps running is not blocked: it waits for the budget, and
// the report says a thread kept running.
TEST(WatchdogDeathTest, ABusyHandlerIsNotCalledBlocked) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        asio::io_context ctx;
        const workbook::StallDetector stalls(15ms);
        workbook::Watchdog dog(300ms, "a handler that never ends", stalls, 20ms);
        asio::post(stalls.wrap(ctx.get_executor(), "the spinning handler"), [] {
          for (volatile bool spinning = true; spinning;) {
          }
        });
        ctx.run();
      },
      testing::ExitedWithCode(workbook::kDeadlockExitCode),
      testing::AllOf(HasSubstr("did not complete within 300 ms of real time"),
                     HasSubstr("A thread kept running all the time")));
}

// Sleeping now and then is not being blocked for the limit: the scope ends.
TEST(Watchdog, AShortSleepInAHandlerIsBelowTheBlockedLimit) {
  asio::io_context ctx;
  const workbook::StallDetector stalls(15ms);
  workbook::Watchdog dog(10s, "handlers that sleep a little", stalls, 200ms);
  for (int i = 0; i < 3; ++i) {
    asio::post(stalls.wrap(ctx.get_executor(), "a short sleep"),
               [] { std::this_thread::sleep_for(20ms); });
  }
  ctx.run();
  EXPECT_EQ(stalls.handlers(), 3u);
}

TEST(Watchdog, StaysQuietWhenTheScopeEndsInTime) {
  workbook::Watchdog dog(10s, "quick work");
  SUCCEED();
}

}  // namespace
