// Chapter 11's benchmark: hedged reads under long-tail latency, in real time.
// N requests per iteration, each a read_note() of its own note, one after
// another (sequential) or all at once (concurrent), through a pool of 8
// connections on one event-loop thread. Reads take Latency::long_tail(1 ms
// median, 20 ms p99); the hedge goes out at the measured p95 of that
// distribution. Built against the pitfall and the fix; the fix's program also
// runs plain (unhedged) reads, the baseline the hedge is for.
//
// Counters, over every request of every iteration:
//   p50_ms, p99_ms   the request latency (from read_note() called to answered);
//   reads_per_req    reads the database started per request (1 = no extra load);
//   cancelled_per_req reads cancelled per request (the losers);
//   hedge_ms         the hedge delay (the sampled p95).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "note_service.hpp"
#include "workbook/bench.hpp"
#include "workbook/clock.hpp"
#include "workbook/run.hpp"
#include "workbook/variant.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using workbook::Clock;

namespace {

constexpr std::size_t kPoolSize = 8;
const mockdb::Latency kReadLatency = mockdb::Latency::long_tail(1ms, 20ms);

enum class Reads { sequential, concurrent, plain_sequential, plain_concurrent };

// The p95 of the read latency, sampled: what a service would measure and configure.
Clock::duration p95() {
  std::mt19937_64 rng(42);
  std::vector<Clock::duration> samples(20000);
  for (auto& s : samples) s = kReadLatency.sample(rng);
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() * 95 / 100];
}

double percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  return values[index];
}

void hedged_reads(benchmark::State& state, Reads reads) {
  const int n = static_cast<int>(state.range(0));
  const bool plain = reads == Reads::plain_sequential || reads == Reads::plain_concurrent;
  const bool concurrent = reads == Reads::concurrent || reads == Reads::plain_concurrent;
  const Clock::duration hedge_after = p95();
  asio::io_context ctx;
  mockdb::MockDatabase db{mockdb::MockConfig{.max_connections = 0, .trace = false}};
  workbook::run_to_completion(ctx, ch11::add_sample_notes(db, n));
  db.set_latency(mockdb::OpKind::read, kReadLatency);
  ch11::ConnectionPool pool(ctx.get_executor(), db, kPoolSize);
  db.reset_stats();

  std::vector<double> latencies;
  std::int64_t requests = 0;
  auto one_request = [&](mockdb::Id id) -> asio::awaitable<void> {
    const auto start = Clock::now();
    if (plain) {
      co_await ch11::read_once(pool, id);
    } else {
      co_await ch11::read_note(pool, id, hedge_after);
    }
    latencies.push_back(workbook::to_ms(Clock::now() - start));
    ++requests;
  };
  auto one_after_another = [&]() -> asio::awaitable<void> {
    for (mockdb::Id id = 1; id <= n; ++id) co_await one_request(id);
  };
  for (auto _ : state) {
    if (concurrent) {
      for (mockdb::Id id = 1; id <= n; ++id) asio::co_spawn(ctx, one_request(id), asio::detached);
    } else {
      asio::co_spawn(ctx, one_after_another(), asio::detached);
    }
    // Until every read has ended, the orphans' included: their cost is real.
    workbook::run_until_idle(ctx);
  }
  const auto stats = db.stats()[mockdb::OpKind::read];
  const double per = requests > 0 ? 1.0 / static_cast<double>(requests) : 0;
  state.counters["p50_ms"] = percentile(latencies, 0.50);
  state.counters["p99_ms"] = percentile(latencies, 0.99);
  state.counters["reads_per_req"] = static_cast<double>(stats.started) * per;
  state.counters["cancelled_per_req"] = static_cast<double>(stats.cancelled) * per;
  state.counters["hedge_ms"] = workbook::to_ms(hedge_after);
}

void add(const std::string& name, Reads reads) {
  benchmark::RegisterBenchmark(name.c_str(), hedged_reads, reads)
      ->Arg(1)
      ->Arg(8)
      ->Arg(64)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}

const bool registered = [] {
  const std::string variant = workbook::variant_name();
  workbook::register_matrix([](benchmark::State& state, bool concurrent) {
    hedged_reads(state, concurrent ? Reads::concurrent : Reads::sequential);
  });
  // The baseline: read_once() is the same provided code in both builds, so
  // only the fix's program runs it.
  if (variant == "fix") {
    add("plain/sequential", Reads::plain_sequential);
    add("plain/concurrent", Reads::plain_concurrent);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
