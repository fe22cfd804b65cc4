// The same chapter code on the three backends: what the mock's lessons promised, against what
// SQLite and PostgreSQL (over its Unix socket) deliver.
//
//   build/default/benchmarks/backends/backends_bench [--benchmark_filter=postgres]
//
// reads/<backend>/<shape>/N reads N notes by id, with chapter 03's and chapter 12's fixed
// code, in three shapes:
//   sequential  one ch03::read_note() after another (chapter 03's pitfall);
//   concurrent  ch03::read_notes(): all N at once (chapter 03's fix);
//   bounded4    ch12::check_orders() with a limit of 4 (chapter 12's fix).
// Backends: "mock" with 1 ms per operation (the latency-bound database the lessons assume),
// "sqlite" (a file, a pool of 4 worker threads), "postgres" (a throwaway server, or the one
// PGHOST names). inserts/postgres/{pipeline,one_by_one}/N writes N rows in one transaction
// with and without libpq's pipeline mode. Each benchmark opens a fresh database and reads once,
// untimed, to fill the pool, before it measures. Counters: reads_per_s, reads per second of real
// time; failed, reads that came back with an error (a "fast" run that failed its reads shows here).
// Compare a backend's concurrent or bounded time with its sequential time: that ratio is the
// speed-up.
#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "note_reader.hpp"
#include "order_checker.hpp"
#if WORKBOOK_HAS_POSTGRES
#include "pgdb/postgres_database.hpp"
#endif
#include "workbook/backends.hpp"
#include "workbook/run.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

enum class Shape { sequential, concurrent, bounded4 };

asio::awaitable<std::int64_t> read_sequentially(mockdb::DatabaseService& db,
                                                std::vector<mockdb::Id> ids) {
  std::int64_t failed = 0;
  for (const mockdb::Id id : ids) {
    const ch03::NoteResult r = co_await ch03::read_note(db, id);
    if (r.failed() || !r.note) ++failed;
  }
  co_return failed;
}

asio::awaitable<std::int64_t> read_concurrently(mockdb::DatabaseService& db,
                                                std::vector<mockdb::Id> ids) {
  std::int64_t failed = 0;
  for (const auto& r : co_await ch03::read_notes(db, std::move(ids))) {
    if (r.failed() || !r.note) ++failed;
  }
  co_return failed;
}

asio::awaitable<std::int64_t> read_bounded(mockdb::DatabaseService& db,
                                           std::vector<mockdb::Id> ids) {
  std::int64_t failed = 0;
  co_await ch12::check_orders(db, std::move(ids), 4, [&failed](const ch12::OrderResult& r) {
    if (r.error || !r.order) ++failed;
  });
  co_return failed;
}

void reads(benchmark::State& state, const std::string& backend, Shape shape) {
  const auto n = static_cast<int>(state.range(0));
  asio::io_context ctx;
  std::unique_ptr<workbook::OpenedDatabase> db;
  try {
    // As many connections as reads: chapter 03's fix starts them all at once.
    db = workbook::open_backend(backend, ctx.get_executor(),
                                {.max_connections = static_cast<std::size_t>(n)});
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  if (shape == Shape::bounded4) {
    workbook::run_to_completion(ctx, ch12::add_sample_orders(*db, n));
  } else {
    workbook::run_to_completion(ctx, ch03::add_sample_notes(*db, n));
  }
  if (auto* mock = dynamic_cast<mockdb::MockDatabase*>(&db->inner())) {
    mock->set_latency(mockdb::Latency::fixed(1ms));
  }
  std::vector<mockdb::Id> ids;
  for (mockdb::Id id = 1; id <= n; ++id) ids.push_back(id);
  // One untimed pass first, so that the pool holds its connections, as a running service's
  // does: opening 64 PostgreSQL connections takes longer than 64 reads on them.
  (void)workbook::run_to_completion(ctx, read_concurrently(*db, ids));
  std::int64_t done = 0;
  std::int64_t failed = 0;
  for (auto _ : state) {
    switch (shape) {
      case Shape::sequential:
        failed += workbook::run_to_completion(ctx, read_sequentially(*db, ids));
        break;
      case Shape::concurrent:
        failed += workbook::run_to_completion(ctx, read_concurrently(*db, ids));
        break;
      case Shape::bounded4:
        failed += workbook::run_to_completion(ctx, read_bounded(*db, ids));
        break;
    }
    done += n;
  }
  state.counters["reads_per_s"] =
      benchmark::Counter(static_cast<double>(done), benchmark::Counter::kIsRate);
  state.counters["failed"] =
      benchmark::Counter(static_cast<double>(failed), benchmark::Counter::kAvgIterations);
  db.reset();  // before the io_context its operations ran on
}

#if WORKBOOK_HAS_POSTGRES
// inserts/postgres/<mode>/N: N rows written by one create_many(), in one transaction, with
// libpq's pipeline mode (every statement sent before any reply is read: one round trip) or
// without it (a round trip per statement). Counter rows_per_s.
void inserts(benchmark::State& state, bool pipeline) {
  const auto n = static_cast<std::size_t>(state.range(0));
  asio::io_context ctx;
  std::unique_ptr<workbook::OpenedDatabase> db;
  try {
    db = workbook::open_backend("postgres", ctx.get_executor(), {.pipeline = pipeline});
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  auto& pg = dynamic_cast<pgdb::PostgresDatabase&>(db->inner());
  mockdb::Rows rows(n, mockdb::Row{{"title", "a note"}, {"owner", 1}});
  (void)workbook::run_to_completion(ctx, pg.create_many("notes", rows));  // the table, a connection
  std::int64_t written = 0;
  for (auto _ : state) {
    written += static_cast<std::int64_t>(
        workbook::run_to_completion(ctx, pg.create_many("notes", rows)).size());
  }
  state.counters["rows_per_s"] =
      benchmark::Counter(static_cast<double>(written), benchmark::Counter::kIsRate);
  db.reset();
}
#endif

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  for (const std::string& backend : workbook::backend_names()) {
    for (const auto& [shape, name] :
         {std::pair{Shape::sequential, "sequential"}, std::pair{Shape::concurrent, "concurrent"},
          std::pair{Shape::bounded4, "bounded4"}}) {
      benchmark::RegisterBenchmark(
          ("reads/" + backend + "/" + name).c_str(),
          [backend, shape = shape](benchmark::State& state) { reads(state, backend, shape); })
          ->Arg(1)
          ->Arg(8)
          ->Arg(64)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
#if WORKBOOK_HAS_POSTGRES
  for (const bool pipeline : {true, false}) {
    benchmark::RegisterBenchmark(
        pipeline ? "inserts/postgres/pipeline" : "inserts/postgres/one_by_one",
        [pipeline](benchmark::State& state) { inserts(state, pipeline); })
        ->Arg(8)
        ->Arg(256)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
#endif
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
