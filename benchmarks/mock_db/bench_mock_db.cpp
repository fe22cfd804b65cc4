// bench_mock_db: what the mock database costs on top of plain Asio.
//
// Side by side, per operation:
//   raw/...   a coroutine that posts to the loop and looks a row up in a hash
//             map (the least an asynchronous in-memory read can cost);
//   mock/...  MockDatabase::read with zero latency (the same post, plus the
//             mock's fault plan, counters, connection slot and storage).
// each run sequentially (one coroutine, 1,000 reads one after another) and as
// a concurrent fan-out (1,000 coroutines joined with a parallel group).
// mock/latency_1ms measures timer fidelity: a read with 1 ms of simulated
// latency, in real time, reported as median and p99.
#include <benchmark/benchmark.h>

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
#include <optional>
#include <unordered_map>
#include <vector>

#include "mockdb/mock_database.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr int kRows = 1000;
constexpr int kBatch = 1000;

mockdb::Row sample_row(int i) {
  return {{"id", i}, {"title", "note " + std::to_string(i)}, {"body", "some text"}};
}

// The baseline: an asynchronous read that does nothing but yield to the loop
// once and copy a row out of a hash map.
struct RawTable {
  std::unordered_map<mockdb::Id, mockdb::Row> rows;
  asio::awaitable<std::optional<mockdb::Row>> read(mockdb::Id id) {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
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

// Per-read figures, and how many reads found their row (all of them must).
void report_reads(benchmark::State& state, std::int64_t found) {
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["rows_found"] = static_cast<double>(found);
  state.counters["ns_per_read"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kBatch),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

template <typename Table>
void sequential(benchmark::State& state) {
  asio::io_context ctx(1);
  Table table;
  fill(ctx, table);
  std::int64_t found = 0;
  for (auto _ : state) {
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
  }
  report_reads(state, found);
}

template <typename Table>
void fan_out(benchmark::State& state) {
  asio::io_context ctx(1);
  Table table;
  fill(ctx, table);
  std::int64_t found = 0;
  using Op = decltype(asio::co_spawn(ctx, table.read(1), asio::deferred));
  for (auto _ : state) {
    std::vector<Op> ops;
    ops.reserve(kBatch);
    for (int i = 0; i < kBatch; ++i) {
      ops.push_back(asio::co_spawn(ctx, table.read(i % kRows + 1), asio::deferred));
    }
    asio::experimental::make_parallel_group(std::move(ops))
        .async_wait(asio::experimental::wait_for_all(),
                    [&](const std::vector<std::size_t>&, const std::vector<std::exception_ptr>&,
                        const std::vector<std::optional<mockdb::Row>>& rows) {
                      found += std::count_if(rows.begin(), rows.end(),
                                             [](const auto& r) { return r.has_value(); });
                    });
    ctx.run();
    ctx.restart();
  }
  report_reads(state, found);
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

BENCHMARK(sequential<RawTable>)->Name("raw/sequential_1000");
BENCHMARK(sequential<MockTable>)->Name("mock/sequential_1000");
BENCHMARK(fan_out<RawTable>)->Name("raw/fan_out_1000");
BENCHMARK(fan_out<MockTable>)->Name("mock/fan_out_1000");
BENCHMARK(latency_1ms)->Name("mock/latency_1ms")->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
