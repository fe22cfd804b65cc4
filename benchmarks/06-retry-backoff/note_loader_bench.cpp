// Chapter 06's benchmark: N loads of a note through a 50 ms outage that starts
// with each iteration, in real time, on one event-loop thread. Sequential: one
// caller loads N notes one after another (the first rides out the outage).
// Concurrent: N callers load at once, each with its own seed. Built against
// the pitfall and the fix; ./workbook bench 06 runs both.
//
// Counters (per iteration): attempts, the reads made; outage_load, reads per
// millisecond of outage, the load the database takes while it tries to come
// back; after_outage_ms, from the end of the outage until the last load had its
// note; failed, loads that ended in an error; retry_peak, the most reads that
// started within any 1 ms of the outage, from 1 ms into it (the callers'
// first attempts all start at once, by design; the fix's first retry waits at
// least 2.5 ms), the median of the iterations.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "note_loader.hpp"
#include "workbook/bench.hpp"
#include "workbook/clock.hpp"
#include "workbook/run.hpp"
#include "workbook/timer.hpp"
#include "workbook/trace.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto kOutage = 50ms;

// The most reads that started within any 1 ms of [from, to): how hard the
// retries hit at once.
std::size_t peak_per_ms(const std::vector<workbook::Span>& spans, workbook::Clock::time_point from,
                        workbook::Clock::time_point to) {
  std::vector<workbook::Clock::time_point> starts;
  starts.reserve(spans.size());
  for (const auto& span : spans) {
    if (span.start >= from && span.start < to) starts.push_back(span.start);
  }
  std::sort(starts.begin(), starts.end());
  std::size_t peak = 0;
  std::size_t first = 0;
  for (std::size_t last = 0; last < starts.size(); ++last) {
    while (starts[last] - starts[first] >= 1ms) ++first;
    peak = std::max(peak, last - first + 1);
  }
  return peak;
}

asio::awaitable<void> load_one_after_another(mockdb::DatabaseService& db, int n,
                                             ch06::RetryPolicy policy, int& failed,
                                             workbook::Clock::time_point& last) {
  for (int i = 0; i < n; ++i) {
    try {
      co_await ch06::load_note(db, 1, policy);
      last = workbook::Clock::now();
    } catch (const std::exception&) {
      ++failed;
    }
  }
}

void load_through_outage(benchmark::State& state, bool concurrent) {
  const int n = static_cast<int>(state.range(0));
  asio::io_context ctx;
  mockdb::MockDatabase db{mockdb::MockConfig{.max_connections = 0}};
  workbook::run_to_completion(ctx, ch06::add_sample_notes(db, 1));
  db.set_latency(mockdb::OpKind::read, mockdb::Latency::fixed(10us));
  ch06::RetryPolicy policy;
  policy.base = 5ms;
  policy.cap = 50ms;

  std::uint64_t attempts = 0;
  std::uint64_t during = 0;
  double after = 0;
  int failed = 0;
  std::vector<std::size_t> peaks;  // one per iteration
  for (auto _ : state) {
    db.reset_stats();
    db.trace().clear();
    const auto end = workbook::Clock::now() + kOutage;
    db.outage(0ms, kOutage);
    workbook::Clock::time_point last{};
    std::uint64_t at_end = 0;
    // Samples the read count when the outage ends.
    workbook::Timer sample(ctx.get_executor(), end);
    sample.async_wait(
        [&](boost::system::error_code) { at_end = db.stats()[mockdb::OpKind::read].started; });
    if (concurrent) {
      for (int c = 0; c < n; ++c) {
        ch06::RetryPolicy own = policy;
        own.seed = static_cast<std::uint64_t>(c) + 1;
        asio::co_spawn(ctx, ch06::load_note(db, 1, own),
                       [&](const std::exception_ptr& e, const std::optional<mockdb::Row>&) {
                         if (e) {
                           ++failed;
                         } else {
                           last = workbook::Clock::now();
                         }
                       });
      }
    } else {
      asio::co_spawn(ctx, load_one_after_another(db, n, policy, failed, last), asio::detached);
    }
    workbook::run_until_idle(ctx);
    attempts += db.stats()[mockdb::OpKind::read].started;
    during += at_end;
    after += workbook::to_ms(last - end);
    peaks.push_back(peak_per_ms(db.trace().spans(), end - kOutage + 1ms, end));
  }
  const auto iterations = static_cast<double>(state.iterations());
  state.counters["attempts"] = static_cast<double>(attempts) / iterations;
  state.counters["outage_load"] = static_cast<double>(during) / iterations /
                                  workbook::to_ms(workbook::Clock::duration(kOutage));
  state.counters["after_outage_ms"] = after / iterations;
  state.counters["failed"] = failed / iterations;
  // The median: in real time, an iteration whose thread was preempted for a
  // few ms fires every timer that expired meanwhile at once, a peak that is
  // the machine's, not the retry policy's.
  std::nth_element(peaks.begin(), peaks.begin() + static_cast<std::ptrdiff_t>(peaks.size() / 2),
                   peaks.end());
  state.counters["retry_peak"] = peaks.empty() ? 0.0 : static_cast<double>(peaks[peaks.size() / 2]);
}

const bool registered = [] {
  workbook::register_matrix(load_through_outage);
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
