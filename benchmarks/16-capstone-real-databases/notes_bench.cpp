// Chapter 16's benchmark. Built against the pitfall and the fix;
// ./workbook bench 16 runs both.
//
// The matrix ({pitfall, fix} x {sequential, concurrent} x N = 1, 8, 64):
// read_notes() of N notes with the policy's limit of 4, on a backend chosen
// with CH16_BACKEND (default "mock", 1 ms per operation): N reads one
// read_note() at a time (sequential) or one batch (concurrent), then an
// export of N notes in pages of 20. Counters: notes_per_s, notes read per
// second of real time; in_flight, the most reads the service had running at
// once (the mock's count; 0 elsewhere); attempts, database operations per
// iteration; rows_scanned, rows the export's queries examined per iteration
// (the mock's count).
#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "notes_service.hpp"
#include "workbook/bench.hpp"
#include "workbook/clock.hpp"
#include "workbook/run.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::string backend_name() {
  const char* name = std::getenv("CH16_BACKEND");
  return name != nullptr && *name != '\0' ? name : "mock";
}

boost::asio::awaitable<void> read_one_at_a_time(ch16::NotesService& service,
                                                std::vector<mockdb::Id> ids) {
  for (const mockdb::Id id : ids) (void)co_await service.read_note(id);
}

void read_and_export(benchmark::State& state, bool concurrent) {
  const auto n = static_cast<int>(state.range(0));
  asio::io_context ctx;
  auto db = ch16::open_backend(backend_name(), ctx.get_executor(), {.latency = 1ms});
  workbook::run_to_completion(ctx, ch16::add_sample_notes(*db, 1, n));
  auto* mock = dynamic_cast<mockdb::MockDatabase*>(db.get());
  if (mock != nullptr) mock->reset_stats();
  ch16::Policy policy;
  ch16::NotesService service(*db, policy);
  std::vector<mockdb::Id> ids;
  for (mockdb::Id id = 1; id <= n; ++id) ids.push_back(id);
  std::int64_t notes = 0;
  for (auto _ : state) {
    if (concurrent) {
      notes += static_cast<std::int64_t>(
          workbook::run_to_completion(ctx, service.read_notes(ids)).size());
    } else {
      workbook::run_to_completion(ctx, read_one_at_a_time(service, ids));
      notes += n;
    }
    ch16::NoteSink keep = [](const mockdb::Row&) { return true; };
    benchmark::DoNotOptimize(workbook::run_to_completion(ctx, service.export_notes(1, keep)));
  }
  const auto iterations =
      static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1));
  state.counters["notes_per_s"] =
      benchmark::Counter(static_cast<double>(notes), benchmark::Counter::kIsRate);
  state.counters["in_flight"] =
      mock != nullptr ? static_cast<double>(mock->stats()[mockdb::OpKind::read].max_in_flight)
                      : 0.0;
  state.counters["attempts"] = static_cast<double>(service.stats().attempts) / iterations;
  state.counters["rows_scanned"] =
      mock != nullptr ? static_cast<double>(mock->stats().rows_scanned) / iterations : 0.0;
}

const auto registered = workbook::register_matrix(read_and_export);

}  // namespace

BENCHMARK_MAIN();
