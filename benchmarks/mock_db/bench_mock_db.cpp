// bench_mock_db: what the mock database costs on top of plain Asio, measured
// so that the answer does not depend on the run.
//
// Two ways to read 1,000 rows, each done two ways:
//   raw    a coroutine that posts to the loop once and copies a row out of a
//          hash map (the least an asynchronous in-memory read can cost);
//   mock   MockDatabase::read with zero latency (the same post, plus the
//          mock's fault plan, counters, connection slot and storage);
// sequential (one coroutine, 1,000 reads one after another) and fan-out
// (1,000 coroutines joined with a parallel group).
//
// How the figures are kept stable (each measured on a loaded 2-core VM):
// - Raw and mock run in the same benchmark iteration, one batch each, in
//   alternating order, so whatever else the machine does at that moment
//   (a compiler on the other core, a frequency change) hits both alike.
//   Their ratio is taken per repetition, from batches timed side by side.
// - Each batch is timed in this thread's CPU time, which a preempted thread
//   does not accumulate: on a shared machine, wall time measures the others.
// - The heap is kept warm (mallopt below). With glibc's defaults, free()
//   gives the top of the heap back to the kernel once 128 KiB of it is free;
//   a fan-out batch frees ~1,000 coroutine frames at once, so the next batch
//   may fault the same memory back in. How often depends on where long-lived
//   allocations happen to sit: 0 to ~180 page faults per batch from one
//   process to the next, on raw's batches or on the mock's, which spread
//   the fan-out ratio over 1.31x-1.64x in three runs (~4% with the heap
//   kept). `--heap=glibc` keeps glibc's defaults, to see it (the faults
//   counters show it).
// - Every repetition warms up first (kWarmUpBatches of each), and the
//   program repeats every benchmark kRepetitions times unless told otherwise
//   (--benchmark_repetitions=N or BENCHMARK_REPETITIONS), printing median,
//   min and max of each figure over the repetitions.
// What remains: the ratio rises with the machine's load (1.6x to 1.75x for
// sequential reads between load 6 and 10; the mock's larger code and data
// footprint probably suffers more from a busy neighbour's cache use), so
// compare runs taken at similar load (Google Benchmark prints it).
//
// Counters (per read, in CPU nanoseconds): raw_ns, mock_ns, and mock_x, the
// mock's time over raw Asio's. raw_faults, mock_faults: page faults per batch.
// The Time column is the wall time of one iteration, a raw and a mock batch.
// mock/latency_1ms measures timer fidelity: a read with 1 ms of simulated
// latency, in real time, reported as median and p99.
//
// Pin it to one core and run it when the machine is idle:
//   taskset -c 1 build/default/benchmarks/bench_mock_db
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mockdb/mock_database.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr int kRows = 1000;
constexpr int kBatch = 1000;       // reads per batch
constexpr int kWarmUpBatches = 5;  // per table, before a repetition's first timed batch
constexpr int kRepetitions = 10;   // unless --benchmark_repetitions says otherwise

mockdb::Row sample_row(int i) {
  return {{"id", i}, {"title", "note " + std::to_string(i)}, {"body", "some text"}};
}

// The baseline: an asynchronous read that does nothing but yield to the loop
// once and copy a row out of a hash map. It posts the way the mock does, to the
// coroutine's own executor: fetching the executor first and posting to a copy
// of it costs ~540 more instructions a read (callgrind), which the baseline
// would have paid and the mock not.
struct RawTable {
  std::unordered_map<mockdb::Id, mockdb::Row> rows;
  asio::awaitable<std::optional<mockdb::Row>> read(mockdb::Id id) {
    co_await asio::post(asio::use_awaitable);
    const auto it = rows.find(id);
    if (it == rows.end()) co_return std::nullopt;
    co_return it->second;
  }
};

struct MockTable {
  mockdb::MockDatabase db{mockdb::MockConfig{.max_connections = 0, .trace = false}};
  asio::awaitable<std::optional<mockdb::Row>> read(mockdb::Id id) { return db.read("notes", id); }
};

void fill(asio::io_context&, RawTable& table) {
  for (int i = 1; i <= kRows; ++i) table.rows.emplace(i, sample_row(i));
}

void fill(asio::io_context& ctx, MockTable& table) {
  asio::co_spawn(
      ctx,
      [&table]() -> asio::awaitable<void> {
        for (int i = 1; i <= kRows; ++i) co_await table.db.create("notes", sample_row(i));
      },
      asio::detached);
  ctx.run();
  ctx.restart();
}

// One batch of kBatch reads, one after another; returns how many found their
// row. Not inlined, so that a profiler can single it out
// (valgrind --tool=callgrind --toggle-collect='*sequential_batch*').
template <typename Table>
[[gnu::noinline]] std::int64_t sequential_batch(asio::io_context& ctx, Table& table) {
  std::int64_t found = 0;
  asio::co_spawn(
      ctx,
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < kBatch; ++i) {
          if (co_await table.read(i % kRows + 1)) ++found;
        }
      },
      asio::detached);
  ctx.run();
  ctx.restart();
  return found;
}

// One batch of kBatch reads started at once and joined with a parallel group.
template <typename Table>
[[gnu::noinline]] std::int64_t fan_out_batch(asio::io_context& ctx, Table& table) {
  using Op = decltype(asio::co_spawn(ctx, table.read(1), asio::deferred));
  std::int64_t found = 0;
  std::vector<Op> ops;
  ops.reserve(kBatch);
  for (int i = 0; i < kBatch; ++i) {
    ops.push_back(asio::co_spawn(ctx, table.read(i % kRows + 1), asio::deferred));
  }
  asio::experimental::make_parallel_group(std::move(ops))
      .async_wait(asio::experimental::wait_for_all(),
                  [&](const std::vector<std::size_t>&, const std::vector<std::exception_ptr>&,
                      const std::vector<std::optional<mockdb::Row>>& rows) {
                    found = std::count_if(rows.begin(), rows.end(),
                                          [](const auto& r) { return r.has_value(); });
                  });
  ctx.run();
  ctx.restart();
  return found;
}

enum class Shape { sequential, fan_out };

template <Shape shape, typename Table>
std::int64_t batch(asio::io_context& ctx, Table& table) {
  if constexpr (shape == Shape::sequential) {
    return sequential_batch(ctx, table);
  } else {
    return fan_out_batch(ctx, table);
  }
}

std::int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

long page_faults() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  // glibc declares each rusage field in an anonymous union with a word of its own size.
  return usage.ru_minflt + usage.ru_majflt;  // NOLINT(cppcoreguidelines-pro-type-union-access)
}

// The CPU time, page faults and rows found of one table's batches.
struct Tally {
  std::int64_t cpu_ns = 0;
  long faults = 0;
  std::int64_t batches = 0;
  std::int64_t found = 0;

  template <Shape shape, typename Table>
  void time(asio::io_context& ctx, Table& table) {
    const long faults_before = page_faults();
    const std::int64_t start = thread_cpu_ns();
    found += batch<shape>(ctx, table);
    cpu_ns += thread_cpu_ns() - start;
    faults += page_faults() - faults_before;
    ++batches;
  }

  double faults_per_batch() const {
    return static_cast<double>(faults) / static_cast<double>(batches);
  }

  double ns_per_read() const {
    return static_cast<double>(cpu_ns) / static_cast<double>(batches * kBatch);
  }
};

// Raw and mock side by side: each iteration times one batch of each, the
// first of the two alternating, on one io_context that lives as long as the
// repetition (an io_context per batch would add its own cost to both).
template <Shape shape>
void mock_vs_raw(benchmark::State& state) {
  asio::io_context ctx(1);
  RawTable raw;
  MockTable mock;
  fill(ctx, raw);
  fill(ctx, mock);
  // Brings the heap to its working size and Asio's recycled handler memory,
  // the tables and the code into cache before anything is timed.
  for (int i = 0; i < kWarmUpBatches; ++i) {
    batch<shape>(ctx, raw);
    batch<shape>(ctx, mock);
  }
  Tally raw_tally;
  Tally mock_tally;
  bool raw_first = true;
  for (auto _ : state) {
    if (raw_first) {
      raw_tally.time<shape>(ctx, raw);
      mock_tally.time<shape>(ctx, mock);
    } else {
      mock_tally.time<shape>(ctx, mock);
      raw_tally.time<shape>(ctx, raw);
    }
    raw_first = !raw_first;
  }
  for (const Tally* tally : {&raw_tally, &mock_tally}) {
    if (tally->found != tally->batches * kBatch) {
      const std::string message =
          std::string(tally == &raw_tally ? "raw" : "mock") + " found " +
          std::to_string(tally->found) + " rows in " + std::to_string(tally->batches * kBatch) +
          " reads of existing rows; every read must find its row, so the timing is of the "
          "wrong work: check fill() and the table's read()";
      state.SkipWithError(message.c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * 2 * kBatch);
  state.counters["raw_ns"] = raw_tally.ns_per_read();
  state.counters["mock_ns"] = mock_tally.ns_per_read();
  state.counters["mock_x"] = mock_tally.ns_per_read() / raw_tally.ns_per_read();
  state.counters["raw_faults"] = raw_tally.faults_per_batch();
  state.counters["mock_faults"] = mock_tally.faults_per_batch();
}

void latency_1ms(benchmark::State& state) {
  asio::io_context ctx(1);
  mockdb::MockDatabase db{
      mockdb::MockConfig{.operation_latency = mockdb::Latency::fixed(1ms), .trace = false}};
  std::vector<double> took_ms;
  for (auto _ : state) {
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
          const auto start = std::chrono::steady_clock::now();
          co_await db.read("notes", 1);
          took_ms.push_back(
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count());
        },
        asio::detached);
    ctx.run();
    ctx.restart();
  }
  std::sort(took_ms.begin(), took_ms.end());
  state.counters["median_ms"] = took_ms[took_ms.size() / 2];
  state.counters["p99_ms"] = took_ms[took_ms.size() * 99 / 100];
}

// The spread of the repetitions, next to Google Benchmark's mean, median,
// stddev and cv (which it computes for the counters too).
benchmark::internal::Benchmark* with_spread(benchmark::internal::Benchmark* b) {
  return b
      ->ComputeStatistics(
          "min", [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); })
      ->ComputeStatistics(
          "max", [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); })
      // The console shows the aggregates; --benchmark_out files keep every repetition.
      ->DisplayAggregatesOnly();
}

const bool registered = [] {
  with_spread(
      benchmark::RegisterBenchmark("mock_vs_raw/sequential_1000", mock_vs_raw<Shape::sequential>))
      ->Unit(benchmark::kMicrosecond);
  with_spread(benchmark::RegisterBenchmark("mock_vs_raw/fan_out_1000", mock_vs_raw<Shape::fan_out>))
      ->Unit(benchmark::kMicrosecond);
  with_spread(benchmark::RegisterBenchmark("mock/latency_1ms", latency_1ms))
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  return true;
}();

// Keeps freed memory in the process: no trimming of the heap's top and no
// mmap for large blocks, whose threshold glibc otherwise moves as the program
// runs. Both would make a batch pay page faults depending on the heap's history.
void keep_heap_warm() {
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  // Our own flags are taken out before Google Benchmark reads the rest; a
  // default repetition count goes in unless the command line or the
  // environment gives one (a count set in code would override both).
  std::vector<char*> args;
  std::string heap = "warm";
  bool repetitions_given = false;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--heap=")) {
      heap = arg.substr(std::strlen("--heap="));
      continue;
    }
    repetitions_given = repetitions_given || arg.starts_with("--benchmark_repetitions");
    args.push_back(argv[i]);
  }
  // Google Benchmark also reads BENCHMARK_REPETITIONS from the environment, which the
  // command line would override.
  repetitions_given = repetitions_given || std::getenv("BENCHMARK_REPETITIONS") != nullptr;
  std::string repetitions = "--benchmark_repetitions=" + std::to_string(kRepetitions);
  if (!repetitions_given) args.push_back(repetitions.data());
  if (heap == "warm") {
    keep_heap_warm();
  } else if (heap != "glibc") {
    std::fprintf(stderr,
                 "bench_mock_db: --heap=%s is not a heap setting; expected --heap=warm (the "
                 "default: freed memory stays in the process) or --heap=glibc (glibc's "
                 "defaults, which return it to the kernel)\n",
                 heap.c_str());
    return 2;
  }
  int count = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
  benchmark::AddCustomContext("heap", heap);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
