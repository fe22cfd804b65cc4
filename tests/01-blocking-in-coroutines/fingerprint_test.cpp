// Chapter 01's test, built against the pitfall and against the fix.
//
// Four fingerprint requests run concurrently on one event-loop thread. The
// fix must return the right fingerprints without any handler holding the
// loop longer than the budget. The pitfall returns the right fingerprints
// too, but its handlers block the loop: the stall detector reports it.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <vector>

#include "fingerprint_service.hpp"
#include "mockdb/mock_database.hpp"
#include "workbook/run.hpp"
#include "workbook/stall.hpp"
#include "workbook/watchdog.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr int kRequests = 4;
// A handler that runs longer than this keeps every other request waiting.
constexpr auto kLoopBudget = 15ms;

class BlockingInCoroutines : public testing::Test {
 protected:
  BlockingInCoroutines() { workbook::run_to_completion(ctx, files.add_notes(db)); }

  workbook::VirtualTime time;
  asio::io_context ctx;
  mockdb::MockDatabase db{mockdb::MockConfig{.operation_latency = mockdb::Latency::fixed(5ms)}};
  workbook::BlockingPool pool{2};
  ch01::SampleAttachments files{kRequests};
  ch01::Services services{db, pool, files.directory()};
  workbook::StallDetector stalls{kLoopBudget};
};

TEST_F(BlockingInCoroutines, ConcurrentRequestsNeverStallTheEventLoop) {
  workbook::Watchdog watchdog(10s, "4 fingerprint requests", &stalls);
  // Each request is a coroutine of its own, labelled for the stall report.
  std::vector<std::string> results(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    const mockdb::Id id = i + 1;
    auto ex = stalls.wrap(ctx.get_executor(), "request for note " + std::to_string(id));
    asio::co_spawn(ex, ch01::fingerprint_note(services, id),
                   [&results, i](const std::exception_ptr& error, std::string fingerprint) {
                     if (error) std::rethrow_exception(error);
                     results[i] = std::move(fingerprint);
                   });
  }
  workbook::run_until_idle(ctx);

  // The behaviour: every request gets its own file's fingerprint.
  for (int i = 0; i < kRequests; ++i) {
    const auto file = files.directory() / ch01::SampleAttachments::file_name(i);
    EXPECT_EQ(results[i], ch01::fingerprint(ch01::read_attachment(file))) << "request " << i + 1;
  }
  // The lesson: no request held the event loop while the others waited.
  EXPECT_FALSE(stalls.stalled()) << stalls.report()
                                 << ".\nA coroutine blocked the event-loop thread: while it "
                                    "ran, no other request could make progress. Expected every "
                                    "handler to return to the loop within the budget.";
}

TEST_F(BlockingInCoroutines, MissingNoteIsReported) {
  EXPECT_THROW(workbook::run_to_completion(ctx, ch01::fingerprint_note(services, 99)),
               std::runtime_error);
}

}  // namespace
