// Chapter 03's benchmark: read_notes() of N notes at 1 ms per read, with one
// caller at a time (sequential) or four callers at once (concurrent), on one
// event-loop thread. Built against the pitfall and the fix; ./workbook bench 03
// runs both.
//
// Counters: notes read per second; in_flight, the most reads running at once;
// overlap, the time the reads would take one after another (reads x 1 ms)
// divided by the time they took; and ideal_overlap, the overlap if every read
// of an iteration overlapped (N for one caller, 4N for four). (Not "speedup":
// ./workbook bench has a column comparing each row's time with the fix's.)
#include <benchmark/benchmark.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "note_reader.hpp"
#include "workbook/bench.hpp"
#include "workbook/clock.hpp"
#include "workbook/run.hpp"
#include "workbook/variant.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto kLatency = 1ms;
constexpr int kCallers = 4;  // concurrent read_notes() calls in the concurrent case

void read_pages(benchmark::State& state, bool concurrent) {
  const int n = static_cast<int>(state.range(0));
  const int callers = concurrent ? kCallers : 1;
  asio::io_context ctx;
  // Every direct read holds a connection while in flight: 4 callers x 64 reads
  // would pass the default limit of 100, which is not what this chapter measures.
  mockdb::MockDatabase db{mockdb::MockConfig{.max_connections = 0, .trace = false}};
  workbook::run_to_completion(ctx, ch03::add_sample_notes(db, n));
  db.set_latency(mockdb::OpKind::read, mockdb::Latency::fixed(kLatency));
  std::vector<mockdb::Id> ids;
  for (mockdb::Id id = 1; id <= n; ++id) ids.push_back(id);

  std::int64_t read = 0;
  workbook::Clock::duration busy{};
  for (auto _ : state) {
    const auto start = workbook::Clock::now();
    for (int c = 0; c < callers; ++c) {
      asio::co_spawn(
          ctx, ch03::read_notes(db, ids),
          [&read](const std::exception_ptr& e, const std::vector<ch03::NoteResult>& notes) {
            if (e) return;
            for (const auto& note : notes) read += note.note ? 1 : 0;
          });
    }
    workbook::run_until_idle(ctx);
    busy += workbook::Clock::now() - start;
  }
  const double one_by_one =
      static_cast<double>(read) * workbook::to_ms(workbook::Clock::duration(kLatency));
  state.counters["notes"] =
      benchmark::Counter(static_cast<double>(read), benchmark::Counter::kIsRate);
  state.counters["in_flight"] = static_cast<double>(db.stats()[mockdb::OpKind::read].max_in_flight);
  state.counters["overlap"] = one_by_one / workbook::to_ms(busy);
  state.counters["ideal_overlap"] = static_cast<double>(n * callers);
}

const bool registered = [] {
  workbook::register_matrix(read_pages);
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
