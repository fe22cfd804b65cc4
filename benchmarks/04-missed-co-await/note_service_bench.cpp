// Chapter 04's benchmark: saving N notes, one after another (sequential,
// N calls of save_note) or as one batch (concurrent, save_notes), on one
// event-loop thread, against the mock database with 1 ms write latency.
// Built against the pitfall and the fix; ./workbook bench 04 runs both.
//
// A benchmark that does not check its results lies: the pitfall is the
// fastest code here because it does nothing. So each iteration counts what
// the database actually holds when the handlers have returned, against what
// the handlers reported:
//   notes_reported notes the handlers reported saved, per iteration
//   notes_written  notes in the database when the handlers returned, per iteration
//   notes_late     notes that appeared only afterwards (detached writes), per iteration
// and the time of an iteration covers only the handlers, as a caller sees it.
#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "note_service.hpp"
#include "workbook/bench.hpp"
#include "workbook/run.hpp"
#include "workbook/variant.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// A fixed number of iterations: the pitfall's handlers return in microseconds
// and leave a millisecond of detached writes behind, which each iteration
// waits out with the timer paused; left to choose, Google Benchmark would run
// hundreds of thousands of such iterations.
constexpr int kIterations = 10;

// Saves n notes with save_note(), one after another; returns how many it was
// told were saved.
asio::awaitable<std::size_t> save_one_by_one(mockdb::DatabaseService& db, int n) {
  std::size_t reported = 0;
  for (int i = 1; i <= n; ++i) {
    const ch04::SaveResult result =
        co_await ch04::save_note(db, "note " + std::to_string(i), "text");
    reported += result.saved ? 1 : 0;
  }
  co_return reported;
}

std::size_t saved(const std::vector<ch04::SaveResult>& results) {
  std::size_t count = 0;
  for (const ch04::SaveResult& r : results) count += r.saved ? 1 : 0;
  return count;
}

void save_notes(benchmark::State& state, bool concurrent) {
  const int n = static_cast<int>(state.range(0));
  asio::io_context ctx;
  mockdb::MockDatabase db{
      mockdb::MockConfig{.operation_latency = mockdb::Latency::fixed(1ms), .trace = false}};
  std::vector<ch04::Draft> drafts;
  for (int i = 1; i <= n; ++i) drafts.push_back({"note " + std::to_string(i), "text"});

  double reported = 0;
  double written = 0;
  double late = 0;
  for (auto _ : state) {
    const std::size_t before = db.count(ch04::kNotesTable);
    if (concurrent) {
      reported += static_cast<double>(
          saved(workbook::run_to_completion(ctx, ch04::save_notes(db, drafts))));
    } else {
      reported += static_cast<double>(workbook::run_to_completion(ctx, save_one_by_one(db, n)));
    }
    const std::size_t returned = db.count(ch04::kNotesTable);
    // Whatever the handlers left behind runs now, outside the measured time.
    state.PauseTiming();
    workbook::run_until_idle(ctx);
    state.ResumeTiming();
    written += static_cast<double>(returned - before);
    late += static_cast<double>(db.count(ch04::kNotesTable) - returned);
  }
  state.counters["notes_reported"] =
      benchmark::Counter(reported, benchmark::Counter::kAvgIterations);
  state.counters["notes_written"] = benchmark::Counter(written, benchmark::Counter::kAvgIterations);
  state.counters["notes_late"] = benchmark::Counter(late, benchmark::Counter::kAvgIterations);
}

const bool registered = [] {
  for (auto* benchmark : workbook::register_matrix(save_notes)) benchmark->Iterations(kIterations);
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
