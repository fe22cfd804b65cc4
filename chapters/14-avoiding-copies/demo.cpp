// Chapter 14's demo: one report row of 1 MiB goes through publish() (three
// layers of coroutines) and then through broadcast() to 8 subscribers on two
// loop threads. Built twice, as ch14_demo_pitfall and ch14_demo_fix. Both do
// the same work; the row's own counters show what it cost: how many times the
// body was copied, how many bytes that moved through memory, and how many
// buffers were allocated for it.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <thread>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "report_service.hpp"
#include "workbook/clock.hpp"
#include "workbook/measured.hpp"
#include "workbook/run.hpp"
#include "workbook/variant.hpp"
#include "workbook/watchdog.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kRowBytes = std::size_t{1} << 20;
constexpr int kSubscribers = 8;

void print_counts(const char* what, const ch14::CopyCounts& before, const ch14::CopyCounts& after,
                  double ms) {
  const auto copies = after.copies - before.copies;
  std::printf(
      "  %-39s %3lld %-7s %6.2f MiB copied  %3lld buffers allocated  %3lld moves  %7.2f ms\n", what,
      static_cast<long long>(copies), copies == 1 ? "copy" : "copies",
      static_cast<double>(after.bytes_copied - before.bytes_copied) / (1 << 20),
      static_cast<long long>(after.allocations - before.allocations),
      static_cast<long long>(after.moves - before.moves), ms);
}

void demo() {
  std::printf("Chapter 14, %s: one %zu KiB report row through publish() and broadcast()\n",
              workbook::variant_name(), kRowBytes / 1024);
  std::printf("(a watchdog ends the program if it has not finished within 2 s of real time)\n\n");
  std::fflush(stdout);
  workbook::Watchdog watchdog{2000ms, "the chapter 14 demo"};

  mockdb::MockDatabase db;
  ch14::CopyCounter counter;
  ch14::Outbox outbox{kSubscribers};
  ch14::Services services{db, outbox};
  std::int64_t publish_copies = 0;

  {  // publish(): three layers of coroutines, one loop thread
    asio::io_context ctx;
    ch14::ReportRow row(1, kRowBytes, counter);
    const auto before = counter.counts();
    const auto start = std::chrono::steady_clock::now();
    (void)workbook::run_to_completion(ctx, ch14::publish(services, std::move(row)), "publish()");
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
    print_counts("publish()   (3 layers, 1 thread)", before, counter.counts(), took.count());
    publish_copies = counter.counts().copies - before.copies;
  }
  {  // broadcast(): 8 subscribers at once, two loop threads
    asio::io_context ctx;
    ch14::ReportRow row(2, kRowBytes, counter);
    const auto before = counter.counts();
    const auto start = std::chrono::steady_clock::now();
    std::exception_ptr failed;
    asio::co_spawn(ctx, ch14::broadcast(services, std::move(row), kSubscribers),
                   [&failed](const std::exception_ptr& e) { failed = e; });
    {
      std::vector<std::jthread> loop;
      loop.reserve(2);
      for (int i = 0; i < 2; ++i) loop.emplace_back([&ctx] { ctx.run(); });
    }
    if (failed) std::rethrow_exception(failed);
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
    print_counts("broadcast() (8 subscribers, 2 threads)", before, counter.counts(), took.count());
  }
  std::printf(
      "  %-39s %3ld shared_ptr owners at most while a chunk was read (%d subscribers + 1)\n",
      "the shared row", counter.counts().peak_shared_owners, kSubscribers);
  std::size_t chunks = 0;
  for (int s = 0; s < kSubscribers; ++s) chunks += outbox.received(s).chunks;
  std::printf(
      "\n  every subscriber got the whole row: %zu chunks of %zu bytes sent in all.\n"
      "  Each copy is a whole MiB. The fix makes none: the row is moved from frame to frame\n"
      "  (a pointer each time) and shared read-only, one shared_ptr per subscriber's task.\n",
      chunks, ch14::kChunkBytes);
  workbook::print_measured("publish_copies", static_cast<double>(publish_copies), "copies");
}

}  // namespace

int main() { return workbook::run_demo("the chapter 14 demo", demo); }
