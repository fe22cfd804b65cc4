// Chapter 15's benchmark: what a test suite costs and how often it lies, on
// the wall clock and in virtual time. Built against the pitfall and the fix;
// ./workbook bench 15 runs both.
//
// The matrix ({pitfall, fix} x {sequential, concurrent} x N = 1, 4): N runs of
// the linked tests (register_tests()) against the correct service and against
// each broken one, in virtual time, as the chapter's suite runs them; on a
// quiet machine (sequential) or with a busy thread on every core (concurrent),
// as on a CI machine running other builds. Counters: failures, tests failing
// the correct service (per suite run: a correct test never fails); caught,
// broken services caught (of 10); sim_ms, the simulated time per suite run;
// real_ms, the real time it took.
//
// The deadline test in two clocks (the same in both builds): one test, "a
// save with a 20 ms deadline against a database that answers in 40 ms times
// out at the deadline", written twice. On the wall clock (wall-clock/...): a
// real timer, measured with std::chrono::steady_clock, with a tolerance of
// 2 ms, as a test that "gives the timer some slack" would. In virtual time
// (virtual/...): workbook::Clock, exactly 20 ms. Each 20 times, quiet and
// loaded, in the fix's build only (they do not depend on the variant).
// Counters as above: failures (per 100 runs), sim_ms and real_ms per run;
// caught is 0.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "note_service_runner.hpp"
#include "workbook/bench.hpp"
#include "workbook/clock.hpp"
#include "workbook/run.hpp"
#include "workbook/variant.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// One spinning thread per core while it exists: a machine busy with other work.
class Load {
 public:
  explicit Load(bool on) {
    if (!on) return;
    const unsigned cores = std::max(1U, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < cores; ++i) {
      spinners_.emplace_back([this] {
        while (!stop_.load(std::memory_order_relaxed)) {
        }
      });
    }
  }
  ~Load() {
    stop_ = true;
    for (std::thread& t : spinners_) t.join();
  }
  Load(const Load&) = delete;
  Load& operator=(const Load&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> spinners_;
};

struct Counters {
  double runs = 0;
  double failures = 0;
  double caught = 0;
  double sim_ms = 0;
  double real_ms = 0;

  void report(benchmark::State& state, double failures_scale) const {
    const double per = runs > 0 ? runs : 1;
    state.counters["failures"] = failures * failures_scale / per;
    state.counters["caught"] = caught / per;
    state.counters["sim_ms"] = sim_ms / per;
    state.counters["real_ms"] = real_ms / per;
  }
};

double real_ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// The linked tests, N times, against every implementation (virtual time).
void suite(benchmark::State& state, bool loaded) {
  const ch15::TestList tests = ch15::registered_tests();
  const Load load(loaded);
  Counters totals;
  for (auto _ : state) {
    for (std::int64_t run = 0; run < state.range(0); ++run) {
      const auto start = std::chrono::steady_clock::now();
      for (const ch15::Outcome& outcome : ch15::run_against(tests, ch15::Impl::correct)) {
        if (outcome.failed()) ++totals.failures;
        totals.sim_ms += workbook::to_ms(outcome.simulated);
      }
      for (const ch15::BrokenImpl& bug : ch15::broken_impls()) {
        for (const ch15::Outcome& outcome : ch15::run_against(tests, bug.impl)) {
          if (outcome.failed()) {
            ++totals.caught;
            break;
          }
        }
      }
      totals.real_ms += real_ms_since(start);
      ++totals.runs;
    }
  }
  totals.report(state, 1);
}

constexpr auto kDeadline = 20ms;
constexpr auto kAnswer = 40ms;
constexpr auto kSlack = 2ms;
constexpr int kRuns = 20;  // runs of the deadline test per series

// Saves on a slow database with a deadline; returns whether it timed out.
asio::awaitable<bool> times_out(ch15::NoteService& notes) {
  try {
    co_await notes.save_within("slow", kDeadline);
  } catch (const ch15::Timeout&) {
    co_return true;
  }
  co_return false;
}

// One run of the deadline test; true if it passed. In real time the loop is
// Asio's own (io_context::run() sleeps until the timer is due).
bool deadline_test(bool virtual_time, Counters& totals) {
  std::optional<workbook::VirtualTime> time;
  if (virtual_time) time.emplace();
  asio::io_context ctx;
  mockdb::MockDatabase db;
  db.set_latency(mockdb::OpKind::create, mockdb::Latency::fixed(kAnswer));
  const auto notes = ch15::make_note_service(ch15::Impl::correct, db);
  const auto wall_start = std::chrono::steady_clock::now();
  const workbook::Clock::time_point start = workbook::Clock::now();
  const bool timed_out = workbook::run_to_completion(ctx, times_out(*notes));
  const double wall_ms = real_ms_since(wall_start);
  totals.real_ms += wall_ms;
  if (virtual_time) {
    const workbook::Clock::duration took = workbook::Clock::now() - start;
    totals.sim_ms += workbook::to_ms(took);
    return timed_out && took == kDeadline;
  }
  const double deadline_ms = std::chrono::duration<double, std::milli>(kDeadline).count();
  const double slack_ms = std::chrono::duration<double, std::milli>(kSlack).count();
  return timed_out && wall_ms >= deadline_ms && wall_ms < deadline_ms + slack_ms;
}

void deadline(benchmark::State& state, bool virtual_time, bool loaded) {
  const Load load(loaded);
  Counters totals;
  for (auto _ : state) {
    for (std::int64_t run = 0; run < state.range(0); ++run) {
      if (!deadline_test(virtual_time, totals)) ++totals.failures;
      ++totals.runs;
    }
  }
  totals.report(state, 100);  // failures per 100 runs
}

const auto kMatrix = workbook::register_matrix(suite, {1, 4});

// The same in every build: registered once, in the fix's (and a learner's).
const bool kDeadlineSeries = [] {
  if (std::string_view(workbook::variant_name()) == "pitfall") return false;
  for (const bool virtual_time : {false, true}) {
    for (const bool loaded : {false, true}) {
      const std::string name =
          std::string(virtual_time ? "virtual" : "wall-clock") + (loaded ? "/loaded" : "/quiet");
      benchmark::RegisterBenchmark(name.c_str(), deadline, virtual_time, loaded)
          ->Arg(kRuns)
          ->Iterations(1)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
