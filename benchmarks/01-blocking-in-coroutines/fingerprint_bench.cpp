// Chapter 01's benchmark: N fingerprint requests, one after another
// (sequential) or all at once (concurrent), on one event-loop thread.
// Built against the pitfall and the fix; ./workbook bench 01 runs both.
//
// Counters: requests per second, and stall_ms, the longest time one handler
// held the event loop: the pitfall's cost is not only its own latency but
// everyone else's.
#include <benchmark/benchmark.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <string>

#include "fingerprint_service.hpp"
#include "mockdb/mock_database.hpp"
#include "workbook/bench.hpp"
#include "workbook/run.hpp"
#include "workbook/stall.hpp"
#include "workbook/variant.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

void run_requests(benchmark::State& state, bool concurrent) {
  const int n = static_cast<int>(state.range(0));
  asio::io_context ctx;
  mockdb::MockDatabase db{
      mockdb::MockConfig{.operation_latency = mockdb::Latency::fixed(1ms), .trace = false}};
  workbook::BlockingPool pool{2};
  ch01::SampleAttachments files{n};
  ch01::Services services{db, pool, files.directory()};
  workbook::run_to_completion(ctx, files.add_notes(db));
  workbook::StallDetector stalls{15ms};

  std::int64_t done = 0;
  for (auto _ : state) {
    if (concurrent) {
      for (mockdb::Id id = 1; id <= n; ++id) {
        asio::co_spawn(
            stalls.wrap(ctx.get_executor(), "request"), ch01::fingerprint_note(services, id),
            [&done](const std::exception_ptr& e, const std::string&) { done += e ? 0 : 1; });
      }
    } else {
      asio::co_spawn(
          stalls.wrap(ctx.get_executor(), "request"),
          [&]() -> asio::awaitable<void> {
            for (mockdb::Id id = 1; id <= n; ++id) {
              co_await ch01::fingerprint_note(services, id);
              ++done;
            }
          },
          asio::detached);
    }
    workbook::run_until_idle(ctx);
  }
  state.counters["requests"] =
      benchmark::Counter(static_cast<double>(done), benchmark::Counter::kIsRate);
  state.counters["completed"] =  // per iteration: N when every request finished
      benchmark::Counter(static_cast<double>(done), benchmark::Counter::kAvgIterations);
  state.counters["stall_ms"] =
      std::chrono::duration<double, std::milli>(stalls.longest().duration).count();
}

const bool registered = [] {
  workbook::register_matrix(run_requests, {1, 8});
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
