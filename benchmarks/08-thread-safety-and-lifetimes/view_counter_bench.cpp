// Chapter 08's benchmark: N readers each count 64 views of one note, on an
// io_context run by 1 thread (sequential) or 2 (concurrent), N = 1, 8, 64.
// Counters: views_expected and views_lost (what the count lost: the pitfall's
// lost updates), overlaps (calls to the cache that overlapped one on another
// thread: a data race) and views_per_s.
//
// Then the three ways to serialise one counter, without the database or the
// cache: 20,000 handlers on the io_context each add 1, on 1 and 2 threads,
// through a strand (each handler posts the addition to it: a second handler),
// under a std::mutex, or with a std::atomic (the fix's program); and with no
// synchronisation at all (the pitfall's program: a data race, shown only by
// views_lost).
#include <benchmark/benchmark.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "view_counter.hpp"
#include "workbook/bench.hpp"
#include "workbook/run.hpp"
#include "workbook/variant.hpp"

namespace {

namespace asio = boost::asio;

constexpr int kViewsEach = 64;

asio::awaitable<void> add_note(mockdb::DatabaseService& db) {
  mockdb::Row row;
  row["views"] = 0;
  co_await db.create("notes", std::move(row));
}

asio::awaitable<void> read_repeatedly(ch08::ViewCounter& counter, int views) {
  for (int i = 0; i < views; ++i) co_await counter.record_view(1);
}

void run_threads(asio::io_context& ctx, int threads) {
  ctx.restart();
  std::vector<std::jthread> loop;
  loop.reserve(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) loop.emplace_back([&ctx] { ctx.run(); });
}

void count_views(benchmark::State& state, bool concurrent) {
  const auto readers = static_cast<int>(state.range(0));
  const int threads = concurrent ? 2 : 1;
  asio::io_context ctx(threads);
  mockdb::MockDatabase db{mockdb::MockConfig{.trace = false}};
  workbook::run_to_completion(ctx, add_note(db));
  double lost = 0;
  double overlaps = 0;
  std::int64_t views = 0;
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    ch08::ViewCounter counter(db, ctx.get_executor(), 1);
    for (int r = 0; r < readers; ++r) {
      asio::co_spawn(ctx, read_repeatedly(counter, kViewsEach), asio::detached);
    }
    run_threads(ctx, threads);
    lost += static_cast<double>(std::int64_t{readers} * kViewsEach - counter.cached_views(1));
    overlaps += static_cast<double>(counter.cache_overlaps());
    views += std::int64_t{readers} * kViewsEach;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto iterations = static_cast<double>(state.iterations());
  state.counters["views_expected"] = static_cast<double>(readers) * kViewsEach;
  state.counters["views_lost"] = lost / iterations;
  state.counters["overlaps"] = overlaps / iterations;
  state.counters["views_per_s"] = static_cast<double>(views) / seconds;
}

// ---- one counter, three ways to serialise it (no database, no cache)

enum class Sync { none, strand, mutex, atomic };

constexpr int kIncrements = 20000;

void serialise(benchmark::State& state, Sync sync) {
  const auto threads = static_cast<int>(state.range(0));
  asio::io_context ctx(threads);
  auto strand = asio::make_strand(ctx);
  std::mutex mutex;
  std::int64_t plain = 0;
  std::atomic<std::int64_t> atomic{0};
  std::int64_t done = 0;
  double lost = 0;
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    plain = 0;
    atomic = 0;
    for (int i = 0; i < kIncrements; ++i) {
      switch (sync) {
        case Sync::none:
          asio::post(ctx, [&] { ++plain; });
          break;
        case Sync::strand:
          asio::post(ctx, [&] { asio::post(strand, [&] { ++plain; }); });
          break;
        case Sync::mutex:
          asio::post(ctx, [&] {
            const std::lock_guard lock(mutex);
            ++plain;
          });
          break;
        case Sync::atomic:
          asio::post(ctx, [&] { atomic.fetch_add(1, std::memory_order_relaxed); });
          break;
      }
    }
    run_threads(ctx, threads);
    const std::int64_t got = sync == Sync::atomic ? atomic.load() : plain;
    lost += static_cast<double>(kIncrements - got);
    done += kIncrements;
  }
  state.counters["views_expected"] = kIncrements;
  state.counters["views_lost"] = lost / static_cast<double>(state.iterations());
  state.counters["overlaps"] = 0;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  state.counters["views_per_s"] = static_cast<double>(done) / seconds;
}

const bool registered = [] {
  workbook::register_matrix(count_views, {1, 8, 64});
  std::vector<std::pair<const char*, Sync>> ways = {{"serialise/none", Sync::none}};
  if (std::strcmp(workbook::variant_name(), "pitfall") != 0) {
    ways = {{"serialise/strand", Sync::strand},
            {"serialise/mutex", Sync::mutex},
            {"serialise/atomic", Sync::atomic}};
  }
  for (const auto& [name, sync] : ways) {
    benchmark::RegisterBenchmark(name, serialise, sync)
        ->Arg(1)
        ->Arg(2)
        ->ArgName("threads")
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
