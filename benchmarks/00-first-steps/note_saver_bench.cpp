// Chapter 00's benchmark: saving N notes, with N calls of save_notes() of one
// note each (sequential: each call runs the loop until its write is done) or
// one call with all N (concurrent: every write queued, then one run of the
// loop), against the mock database with 1 ms write latency, in real time.
// Built against the pitfall and the fix; ./workbook bench 00 runs both.
//
// The pitfall is the fastest code here because it does nothing, so every
// iteration counts what the database holds when save_notes() has returned:
//   notes_written  new notes in the database when save_notes() returned, per iteration
//   writes_begun   writes the database saw begin during the calls, per iteration
// The writes the pitfall leaves queued are destroyed with its io_context at
// the end of each iteration, unrun (running them would run handlers that
// refer to save_notes()'s local variables, which are gone).
#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "note_saver.hpp"
#include "workbook/bench.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

void save_notes(benchmark::State& state, bool concurrent) {
  const int n = static_cast<int>(state.range(0));
  mockdb::MockDatabase db{
      mockdb::MockConfig{.operation_latency = mockdb::Latency::fixed(1ms), .trace = false}};
  std::vector<ch00::Note> notes;
  for (int i = 1; i <= n; ++i) notes.push_back({"note " + std::to_string(i), "text"});

  double written = 0;
  double begun = 0;
  for (auto _ : state) {
    const std::size_t before = db.count(ch00::kNotesTable);
    const auto begun_before = db.stats()[mockdb::OpKind::create].started;
    {
      asio::io_context ctx;  // a program's loop: made, used, destroyed
      if (concurrent) {
        benchmark::DoNotOptimize(ch00::save_notes(ctx, db, notes));
      } else {
        for (const ch00::Note& note : notes) {
          benchmark::DoNotOptimize(ch00::save_notes(ctx, db, {note}));
        }
      }
      state.PauseTiming();  // destroying what the pitfall left is not the caller's time
      written += static_cast<double>(db.count(ch00::kNotesTable) - before);
      begun += static_cast<double>(db.stats()[mockdb::OpKind::create].started - begun_before);
    }
    state.ResumeTiming();
  }
  state.counters["notes_written"] = benchmark::Counter(written, benchmark::Counter::kAvgIterations);
  state.counters["writes_begun"] = benchmark::Counter(begun, benchmark::Counter::kAvgIterations);
}

// A fixed number of iterations: the pitfall's calls return in microseconds,
// and left to choose, Google Benchmark would run hundreds of thousands of them.
constexpr int kIterations = 10;

const bool registered = [] {
  for (auto* benchmark : workbook::register_matrix(save_notes)) benchmark->Iterations(kIterations);
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
