// Chapter 09's benchmark: for_each_event() over an events table of N rows
// (1k, 10k, 100k) in pages of 1,000 at 1 ms a query, by one consumer at a time
// (sequential) or three at once (concurrent), on one event-loop thread. Built
// against the pitfall and the fix; ./workbook bench 09 runs both.
//
// Counters, per export: first_row_ms, the time until the sink saw its first
// row; rows_scanned, the rows the database examined (N for keyset paging,
// about N * pages / 2 for OFFSET); peak_resident, the most Events alive at
// once (all consumers together); rows, the rows handed to sinks per second.
#include <benchmark/benchmark.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "event_export.hpp"
#include "mockdb/mock_database.hpp"
#include "workbook/bench.hpp"
#include "workbook/clock.hpp"
#include "workbook/run.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kPage = 1000;
constexpr int kConsumers = 3;  // concurrent exports in the concurrent case

// Loading 100k rows costs a noticeable fraction of a second, so each size's
// table is loaded once per process and shared by the sequential and concurrent
// runs (exports only read it). The tables are never destroyed: a MockDatabase
// destroyed during static destruction would unregister its trace from the
// harness's trace registry after that registry is gone (AddressSanitizer
// reports it as a use after free), so they stay reachable until the process ends.
mockdb::MockDatabase& table_of(asio::io_context& ctx, int rows) {
  static auto* tables = new std::map<int, std::unique_ptr<mockdb::MockDatabase>>;
  auto& db = (*tables)[rows];
  if (!db) {
    db = std::make_unique<mockdb::MockDatabase>(
        mockdb::MockConfig{.seed = 1, .max_connections = 0, .trace = false});
    workbook::run_to_completion(ctx, ch09::add_sample_events(*db, rows));
    db->set_latency(mockdb::OpKind::query, mockdb::Latency::fixed(1ms));
  }
  return *db;
}

void export_table(benchmark::State& state, bool concurrent) {
  const int n = static_cast<int>(state.range(0));
  const int consumers = concurrent ? kConsumers : 1;
  static auto* ctx_of_tables = new asio::io_context;  // outlives the tables, like them
  asio::io_context& ctx = *ctx_of_tables;
  mockdb::MockDatabase& db = table_of(ctx, n);
  db.reset_stats();
  ch09::ResidentRow::reset_peak();

  std::uint64_t handed = 0;
  std::uint64_t exports = 0;
  double first_row_ms = 0;
  for (auto _ : state) {
    const auto start = workbook::Clock::now();
    std::vector<std::optional<workbook::Clock::duration>> firsts(consumers);
    for (int c = 0; c < consumers; ++c) {
      ch09::EventSink sink = [&firsts, c, start](const ch09::Event&) {
        if (!firsts[c]) firsts[c] = workbook::Clock::now() - start;
        return true;
      };
      asio::co_spawn(ctx, ch09::for_each_event(db, kPage, std::move(sink)),
                     [&handed, &exports](const std::exception_ptr& e, std::uint64_t rows) {
                       if (e) return;
                       handed += rows;
                       ++exports;
                     });
    }
    workbook::run_until_idle(ctx);
    for (const auto& first : firsts) {
      if (first) first_row_ms += workbook::to_ms(*first);
    }
  }
  const double per_export = exports == 0 ? 1.0 : static_cast<double>(exports);
  state.counters["rows"] =
      benchmark::Counter(static_cast<double>(handed), benchmark::Counter::kIsRate);
  state.counters["first_row_ms"] = first_row_ms / per_export;
  state.counters["rows_scanned"] = static_cast<double>(db.stats().rows_scanned) / per_export;
  state.counters["peak_resident"] = static_cast<double>(ch09::ResidentRow::peak());
  state.counters["exported"] = static_cast<double>(handed) / per_export;
}

const bool registered = [] {
  workbook::register_matrix(export_table, {1000, 10000, 100000});
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
