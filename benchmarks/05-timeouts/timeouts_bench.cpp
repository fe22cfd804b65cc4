// Chapter 05's benchmark: N requests for a note against a database with a
// long tail (reads: median 1 ms, 99th percentile 50 ms, log-normal), with a
// service timeout of 10 ms, one request at a time (sequential) or all N at
// once (concurrent), on one event-loop thread in real time. Built against the
// pitfall and the fix; ./workbook bench 05 runs both.
//
// Nothing hangs here: the pitfall would never end. The tail alone shows its
// defect: without a deadline that fires, a request waits as long as its read
// takes, however long that is.
//
// Counters, over every request of every iteration: p50_ms, p99_ms and max_ms,
// each request's time from call to answer; timed_out, the requests per
// iteration that ended with Errc::timed_out; late, those that ended more than
// 2 ms after their deadline (the pitfall's are all of its slow ones: it
// reports a timeout only once the read has completed); left_in_flight, reads
// still running when the iteration's requests had all ended.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <vector>

#include "mockdb/errors.hpp"
#include "mockdb/mock_database.hpp"
#include "note_service.hpp"
#include "workbook/bench.hpp"
#include "workbook/clock.hpp"
#include "workbook/run.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr int kNotes = 64;
constexpr auto kTimeout = 10ms;
constexpr auto kSlack = 2ms;  // real-time scheduling noise, for "late"

struct Tally {
  std::vector<workbook::Clock::duration> took;
  std::int64_t timed_out = 0;
  std::int64_t late = 0;
};

// One request, timed from its call to its answer.
asio::awaitable<void> request(ch05::NoteService& notes, mockdb::Id id, Tally& tally) {
  const auto start = workbook::Clock::now();
  try {
    co_await notes.get_note(id);
  } catch (const mockdb::DatabaseError& e) {
    if (e.code() == mockdb::ErrorClass::timed_out) ++tally.timed_out;
  }
  const auto took = workbook::Clock::now() - start;
  tally.took.push_back(took);
  if (took > kTimeout + kSlack) ++tally.late;
}

asio::awaitable<void> one_by_one(ch05::NoteService& notes, int n, Tally& tally) {
  for (int i = 0; i < n; ++i) co_await request(notes, 1 + i % kNotes, tally);
}

double percentile(std::vector<workbook::Clock::duration> sorted, double p) {
  if (sorted.empty()) return 0;
  const auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
  return workbook::to_ms(sorted[index]);
}

void requests(benchmark::State& state, bool concurrent) {
  const int n = static_cast<int>(state.range(0));
  asio::io_context ctx;
  mockdb::MockDatabase db{mockdb::MockConfig{.max_connections = 0, .trace = false}};
  workbook::run_to_completion(ctx, ch05::add_sample_notes(db, kNotes));
  db.set_latency(mockdb::OpKind::read, mockdb::Latency::long_tail(1ms, 50ms));
  ch05::NoteService notes(db, kTimeout);

  Tally tally;
  std::size_t left_in_flight = 0;
  for (auto _ : state) {
    if (concurrent) {
      for (int i = 0; i < n; ++i) {
        asio::co_spawn(ctx, request(notes, 1 + i % kNotes, tally), asio::detached);
      }
      workbook::run_until_idle(ctx);
    } else {
      workbook::run_to_completion(ctx, one_by_one(notes, n, tally));
    }
    left_in_flight = std::max(left_in_flight, db.stats()[mockdb::OpKind::read].in_flight);
  }
  std::sort(tally.took.begin(), tally.took.end());
  const auto iterations = static_cast<double>(state.iterations());
  state.counters["p50_ms"] = percentile(tally.took, 0.50);
  state.counters["p99_ms"] = percentile(tally.took, 0.99);
  state.counters["max_ms"] = tally.took.empty() ? 0 : workbook::to_ms(tally.took.back());
  state.counters["timed_out"] = static_cast<double>(tally.timed_out) / iterations;
  state.counters["late"] = static_cast<double>(tally.late) / iterations;
  state.counters["left_in_flight"] = static_cast<double>(left_in_flight);
}

const bool registered = [] {
  workbook::register_matrix(requests, {16, 64, 256});
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
