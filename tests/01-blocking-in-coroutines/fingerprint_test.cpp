// Chapter 01's test, built against the pitfall and against the fix.
//
// Four fingerprint requests run concurrently on one event-loop thread, in
// virtual time. Each test checks one thing a correct fix does:
// - every request returns its own file's fingerprint;
// - no handler holds the loop longer than the budget (the stall detector:
//   this is the failure the pitfall is shown with);
// - the blocking calls run on a thread of services.blocking, never on the
//   loop's thread, however short they are (the provided read_attachment()
//   and fingerprint() record the thread they ran on);
// - every request waits out the pacing delay in virtual time.
// The last two catch what the stall budget alone cannot: a hash of a few ms
// left on the loop, and a pacing delay that was deleted or turned into a
// sleep on a pool thread (which blocks no loop, but in virtual time the
// request then completes at t=5 ms, its database read, instead of t>=30 ms).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <latch>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fingerprint_service.hpp"
#include "mockdb/mock_database.hpp"
#include "workbook/clock.hpp"
#include "workbook/run.hpp"
#include "workbook/stall.hpp"
#include "workbook/watchdog.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr int kRequests = 4;
constexpr std::size_t kPoolThreads = 2;
// A handler that runs longer than this keeps every other request waiting.
constexpr auto kLoopBudget = 15ms;

// The threads of `pool`: one job per thread, each held until all have
// started, so no thread can take two of them. The latches live as long as
// the last job that uses them.
std::set<std::thread::id> threads_of(workbook::BlockingPool& pool, std::size_t threads) {
  struct Census {
    explicit Census(std::size_t n)
        : started(static_cast<std::ptrdiff_t>(n)), counted(static_cast<std::ptrdiff_t>(n)) {}
    std::mutex mutex;
    std::set<std::thread::id> ids;
    std::latch started;
    std::latch counted;
  };
  auto census = std::make_shared<Census>(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    asio::post(pool.get_executor(), [census] {
      {
        const std::lock_guard lock(census->mutex);
        census->ids.insert(std::this_thread::get_id());
      }
      census->started.arrive_and_wait();
      census->counted.count_down();
    });
  }
  census->counted.wait();
  const std::lock_guard lock(census->mutex);
  return census->ids;
}

// Every request's expected fingerprint, computed before any call is logged.
std::vector<std::string> fingerprints_of(const ch01::SampleAttachments& files) {
  std::vector<std::string> fingerprints;
  for (int i = 0; i < kRequests; ++i) {
    const auto file = files.directory() / ch01::SampleAttachments::file_name(i);
    fingerprints.push_back(ch01::fingerprint(ch01::read_attachment(file)));
  }
  return fingerprints;
}

// What one request returned, and when (in virtual time).
struct Outcome {
  std::string fingerprint;
  std::string error;  // what() of the exception it threw, if any
  workbook::Clock::time_point finished{};
};

class BlockingInCoroutines : public testing::Test {
 protected:
  BlockingInCoroutines() { workbook::run_to_completion(ctx, files.add_notes(db)); }

  // Runs kRequests requests concurrently, each a coroutine of its own on a
  // labelled executor of the loop, and fills `outcomes`. Returns false, after
  // reporting why, if they could not all complete.
  bool run_requests() {
    workbook::Watchdog watchdog(10s, "the batch of 4 fingerprint requests", &stalls);
    start = workbook::Clock::now();
    try {
      workbook::run_to_completion(ctx, all_requests(), "the batch of 4 fingerprint requests");
      return true;
    } catch (const workbook::NeverCompleted& e) {
      ADD_FAILURE() << e.what();
      // Clean-up, not a check: work the runner cannot see (a thread pool of
      // one's own, a plain asio timer) may still post to this loop. Let it
      // finish before the loop is destroyed, for at most 2 s of real time.
      const auto give_up = std::chrono::steady_clock::now() + 2s;
      while (finished < kRequests && std::chrono::steady_clock::now() < give_up) {
        ctx.poll();
        std::this_thread::sleep_for(1ms);
      }
      return false;
    }
  }

  workbook::VirtualTime time;
  asio::io_context ctx;
  mockdb::MockDatabase db{mockdb::MockConfig{.operation_latency = mockdb::Latency::fixed(5ms)}};
  workbook::BlockingPool pool{kPoolThreads};
  ch01::SampleAttachments files{kRequests};
  ch01::Services services{db, pool, files.directory()};
  workbook::StallDetector stalls{kLoopBudget};
  const std::vector<std::string> expected = fingerprints_of(files);
  // Workbook runners drive the loop on the thread that calls them: this one.
  const std::thread::id loop_thread = std::this_thread::get_id();
  const std::set<std::thread::id> pool_threads = threads_of(pool, kPoolThreads);
  // Declared last: records only the calls the requests make.
  ch01::BlockingCallLog calls;

  workbook::Clock::time_point start{};
  std::vector<Outcome> outcomes = std::vector<Outcome>(kRequests);
  int finished = 0;

 private:
  asio::awaitable<void> request(mockdb::Id id, Outcome& outcome) {
    try {
      outcome.fingerprint = co_await ch01::fingerprint_note(services, id);
    } catch (const std::exception& e) {
      outcome.error = e.what();
    }
    outcome.finished = workbook::Clock::now();
    ++finished;
  }

  asio::awaitable<void> all_requests() {
    using Spawn = decltype(asio::co_spawn(stalls.wrap(ctx.get_executor(), ""),
                                          request(0, outcomes[0]), asio::deferred));
    std::vector<Spawn> requests;
    for (int i = 0; i < kRequests; ++i) {
      const mockdb::Id id = i + 1;
      auto ex = stalls.wrap(ctx.get_executor(), "request for note " + std::to_string(id));
      requests.push_back(asio::co_spawn(ex, request(id, outcomes[i]), asio::deferred));
    }
    co_await asio::experimental::make_parallel_group(std::move(requests))
        .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  }
};

TEST_F(BlockingInCoroutines, EveryRequestGetsItsOwnFilesFingerprint) {
  if (!run_requests()) return;
  for (int i = 0; i < kRequests; ++i) {
    const auto& outcome = outcomes[i];
    if (!outcome.error.empty()) {
      ADD_FAILURE() << "request for note " << i + 1 << " failed: " << outcome.error;
      continue;
    }
    EXPECT_EQ(outcome.fingerprint, expected[i])
        << "request for note " << i + 1 << " returned the wrong fingerprint: \""
        << outcome.fingerprint << "\" instead of \"" << expected[i] << "\", the fingerprint of "
        << ch01::SampleAttachments::file_name(i)
        << ". A request must return the finished result for its own file: one that returns "
           "before the job computing it has finished returns an empty or stale value.";
  }
}

TEST_F(BlockingInCoroutines, NoHandlerHoldsTheEventLoop) {
  if (!run_requests()) return;
  EXPECT_FALSE(stalls.stalled()) << stalls.report()
                                 << ".\nA coroutine blocked the event-loop thread: while it "
                                    "ran, no other request could make progress. Expected every "
                                    "handler to return to the loop within the budget.";
}

TEST_F(BlockingInCoroutines, BlockingCallsRunOnTheBlockingPool) {
  if (!run_requests()) return;
  const auto log = calls.calls();
  for (const std::string_view function : {"read_attachment()", "fingerprint()"}) {
    int total = 0;
    int on_loop = 0;
    int elsewhere = 0;
    for (const auto& call : log) {
      if (call.function != function) continue;
      ++total;
      if (call.thread == loop_thread) {
        ++on_loop;
      } else if (!pool_threads.contains(call.thread)) {
        ++elsewhere;
      }
    }
    EXPECT_GE(total, kRequests) << function << " was called " << total << " times for " << kRequests
                                << " requests; expected at least once per request.";
    EXPECT_EQ(on_loop, 0)
        << function << " ran on the event-loop thread (" << on_loop << " of " << total
        << " calls). However short it is, no other request can make progress while it runs. "
           "Expected it to run on a thread of services.blocking: co_await "
           "workbook::offload(services.blocking.get_executor(), job), with job calling it.";
    EXPECT_EQ(elsewhere, 0)
        << function << " ran on a thread that is neither the event loop's nor one of "
        << "services.blocking's threads (" << elsewhere << " of " << total
        << " calls). Work started some other way (std::async, std::thread, an "
           "asio::thread_pool of your own) is invisible to virtual time, and waiting for it "
           "with future.get() blocks the loop: use workbook::BlockingPool with "
           "workbook::offload, co_await workbook::offload(services.blocking.get_executor(), "
           "job).";
  }
}

TEST_F(BlockingInCoroutines, EveryRequestWaitsOutThePacingDelay) {
  if (!run_requests()) return;
  int early = 0;
  std::string which;
  for (int i = 0; i < kRequests; ++i) {
    const auto took = outcomes[i].finished - start;
    if (took >= ch01::kStoragePacing) continue;
    ++early;
    char after[48];
    std::snprintf(after, sizeof after, "note %d after %.1f ms", i + 1, workbook::to_ms(took));
    which += (which.empty() ? "" : ", ") + std::string(after);
  }
  EXPECT_EQ(early, 0)
      << early << " of " << kRequests << " requests completed before the pacing delay had passed ("
      << which << ", in virtual time); expected each to take at least "
      << workbook::to_ms(ch01::kStoragePacing)
      << " ms, the storage backend's pacing delay. The pacing delay did not pass in virtual "
         "time: it was deleted, or waited out by a sleep that blocks a thread "
         "(std::this_thread::sleep_for, on the loop or in a pool job) or by a timer on another "
         "clock. Wait with workbook::Timer or workbook::sleep_for, which follow the virtual "
         "clock: co_await workbook::sleep_for(ch01::kStoragePacing).";
}

TEST_F(BlockingInCoroutines, MissingNoteIsReported) {
  EXPECT_THROW(workbook::run_to_completion(ctx, ch01::fingerprint_note(services, 99)),
               std::runtime_error);
}

}  // namespace
