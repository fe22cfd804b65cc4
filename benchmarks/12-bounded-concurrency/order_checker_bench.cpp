// Chapter 12's benchmark, in two parts. Built against the pitfall and the fix;
// ./workbook bench 12 runs both.
//
// The matrix ({pitfall, fix} x {sequential, concurrent} x N = 1, 64, 1024):
// check_orders() of N orders with a limit of 8, 1 ms per read, against a
// database that allows 100 connections; one batch at a time (sequential) or
// four batches at once (concurrent), on one event-loop thread. Counters:
// checks_per_s, orders checked (successfully) per second of real time;
// refused, reads that failed with "too many connections" per batch; p99_ms,
// the 99th percentile of one read's latency; in_flight, the most reads
// running at once; frames, the most check_order() frames alive at once.
//
// The knee (the fix only, where `limit` means something): one batch of 128
// checks, 1 ms per read, on a database that runs at most 8 operations at once
// and queues the rest (MockConfig::capacity), with no connection limit, for
// limits K = 1, 2, 4, 8, 16, 64 and 128 (= N: unbounded). Two series share
// the plot: knee/batch, the time of the batch (it falls as K grows, until K
// reaches the capacity, and then stays flat), and knee/p99, the 99th
// percentile of one check's latency, queue included (flat until K reaches the
// capacity, and then it grows with K: more concurrency only adds queueing).
// The same counters, and queued_ms, the mean time a read waited in the
// database's queue (0 in the matrix, whose database has no capacity limit).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "order_checker.hpp"
#include "workbook/bench.hpp"
#include "workbook/clock.hpp"
#include "workbook/run.hpp"
#include "workbook/variant.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto kLatency = 1ms;
constexpr std::size_t kLimit = 8;
constexpr int kBatches = 4;  // batches at once in the concurrent case

std::vector<mockdb::Id> first_ids(std::int64_t n) {
  std::vector<mockdb::Id> ids;
  for (mockdb::Id id = 1; id <= n; ++id) ids.push_back(id);
  return ids;
}

// What the iterations of one benchmark did. Every run reports the same
// counters (Google Benchmark's CSV output requires it), computed here rather
// than as rates, because the p99 series' own time is not the time it took.
struct Totals {
  std::int64_t checked = 0;  // reads that succeeded
  std::int64_t refused = 0;  // reads that failed with "too many connections"
  std::int64_t batches = 0;
  workbook::Clock::duration busy{};  // real time spent running the batches
  double p99_sum = 0;                // ms, summed over the iterations

  // Records one iteration: its reads are the spans of `db`'s trace.
  double add_iteration(mockdb::MockDatabase& db, workbook::Clock::duration took) {
    busy += took;
    std::vector<double> latencies;  // each read's latency in ms, its time queued included
    for (const auto& span : db.trace().spans()) {
      if (span.operation == "read" && span.end) {
        latencies.push_back(workbook::to_ms(*span.end - span.start));
      }
    }
    db.trace().clear();
    std::sort(latencies.begin(), latencies.end());
    const double p99 = latencies.empty() ? 0.0 : latencies[(latencies.size() * 99 - 1) / 100];
    p99_sum += p99;
    return p99;
  }

  void report(benchmark::State& state, const mockdb::MockDatabase& db) const {
    const mockdb::Stats stats = db.stats();
    const double seconds = workbook::to_ms(busy) / 1000.0;
    const auto reads =
        static_cast<double>(std::max<std::uint64_t>(stats[mockdb::OpKind::read].started, 1));
    state.counters["checks_per_s"] = seconds > 0 ? static_cast<double>(checked) / seconds : 0.0;
    state.counters["refused"] =
        static_cast<double>(refused) / static_cast<double>(std::max<std::int64_t>(batches, 1));
    state.counters["p99_ms"] =
        p99_sum / static_cast<double>(std::max<std::int64_t>(state.iterations(), 1));
    state.counters["queued_ms"] = workbook::to_ms(stats.time_queued) / reads;
    state.counters["in_flight"] = static_cast<double>(stats[mockdb::OpKind::read].max_in_flight);
    state.counters["frames"] = static_cast<double>(ch12::check_frames().max_live);
  }
};

void check_batches(benchmark::State& state, bool concurrent) {
  const std::int64_t n = state.range(0);
  const int batches = concurrent ? kBatches : 1;
  asio::io_context ctx;
  mockdb::MockDatabase db{mockdb::MockConfig{.max_connections = 100}};
  workbook::run_to_completion(ctx, ch12::add_sample_orders(db, static_cast<int>(n)));
  db.set_latency(mockdb::OpKind::read, mockdb::Latency::fixed(kLatency));
  db.reset_stats();
  db.trace().clear();
  ch12::reset_check_frames();
  const auto ids = first_ids(n);

  Totals totals;
  ch12::OnResult count = [&totals](const ch12::OrderResult& r) {
    if (r.error == mockdb::Errc::too_many_connections) ++totals.refused;
    if (!r.failed()) ++totals.checked;
  };
  for (auto _ : state) {
    const auto start = workbook::Clock::now();
    for (int b = 0; b < batches; ++b) {
      asio::co_spawn(ctx, ch12::check_orders(db, ids, kLimit, count), asio::detached);
    }
    workbook::run_until_idle(ctx);
    totals.add_iteration(db, workbook::Clock::now() - start);
    totals.batches += batches;
  }
  totals.report(state, db);
}

// One batch of the knee: 128 checks with limit K on a database of capacity 8.
constexpr int kKneeBatch = 128;
constexpr std::size_t kCapacity = 8;

void knee(benchmark::State& state, bool p99_as_time) {
  const auto limit = static_cast<std::size_t>(state.range(0));
  asio::io_context ctx;
  mockdb::MockDatabase db{mockdb::MockConfig{.max_connections = 0}};
  workbook::run_to_completion(ctx, ch12::add_sample_orders(db, kKneeBatch));
  db.set_latency(mockdb::OpKind::read, mockdb::Latency::fixed(kLatency));
  db.set_capacity(kCapacity);
  db.reset_stats();
  db.trace().clear();
  ch12::reset_check_frames();
  const auto ids = first_ids(kKneeBatch);

  Totals totals;
  ch12::OnResult count = [&totals](const ch12::OrderResult& r) {
    if (!r.failed()) ++totals.checked;
  };
  for (auto _ : state) {
    const auto start = workbook::Clock::now();
    workbook::run_to_completion(ctx, ch12::check_orders(db, ids, limit, count));
    const double p99 = totals.add_iteration(db, workbook::Clock::now() - start);
    if (p99_as_time) state.SetIterationTime(p99 / 1000.0);
    ++totals.batches;
  }
  totals.report(state, db);
}

const bool registered = [] {
  workbook::register_matrix(check_batches, {1, 64, 1024});
  if (std::strcmp(workbook::variant_name(), "fix") == 0) {
    auto* batch = benchmark::RegisterBenchmark("knee/batch", knee, false);
    auto* p99 = benchmark::RegisterBenchmark("knee/p99", knee, true);
    for (auto* b : {batch, p99}) {
      for (const std::int64_t k : {1, 2, 4, 8, 16, 64, kKneeBatch}) b->Arg(k);
      b->Unit(benchmark::kMillisecond);
    }
    batch->UseRealTime();
    // Its manual time (a p99 of ~1 ms) is far less than an iteration's real
    // time (up to 140 ms): left to reach a minimum time, it would run for
    // minutes. Five batches give five p99s of 128 reads each.
    p99->UseManualTime()->Iterations(5);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
