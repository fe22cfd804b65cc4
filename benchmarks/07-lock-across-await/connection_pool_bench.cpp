// Chapter 07's benchmark: N queries through a pool of 2 connections, one
// after another (sequential) or all at once (concurrent), on one event-loop
// thread. Built against the pitfall and the fix; ./workbook bench 07 runs both.
//
// Counters: queries per second, completed, max_in_flight (queries the
// database saw at once) and connects (connections opened over the run).
//
// The pitfall's concurrent run with more than one caller deadlocks: the second
// caller blocks the only thread in std::mutex::lock(). It is reported as
// skipped rather than run. A multi-threaded io_context would not rescue it:
// the coroutine that locked the mutex may resume on another thread and unlock
// it there (undefined behaviour), and once as many callers as threads block
// in lock(), nothing is left to resume the holder.
#include <benchmark/benchmark.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstring>
#include <string>

#include "connection_pool.hpp"
#include "mockdb/mock_database.hpp"
#include "workbook/run.hpp"
#include "workbook/variant.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kPoolSize = 2;

enum class Callers { sequential, concurrent, serialised };

void run_queries(benchmark::State& state, Callers callers) {
  const int n = static_cast<int>(state.range(0));
  if (callers == Callers::concurrent && n > 1 &&
      std::strcmp(workbook::variant_name(), "pitfall") == 0) {
    state.SkipWithError(
        "deadlocks: the 2nd concurrent caller blocks the event loop in std::mutex::lock()");
    return;
  }
  asio::io_context ctx;
  mockdb::MockDatabase db{mockdb::MockConfig{.max_connections = kPoolSize,
                                             .connect_latency = mockdb::Latency::fixed(1ms),
                                             .operation_latency = mockdb::Latency::fixed(1ms),
                                             .trace = false}};
  db.set_latency(mockdb::OpKind::create, mockdb::Latency::none());
  workbook::run_to_completion(ctx, ch07::add_notes(db, n));
  ch07::ConnectionPool pool(ctx.get_executor(), db, kPoolSize);
  ch07::SerialisedPool serialised(ctx.get_executor(), db);

  std::int64_t done = 0;
  auto one_query = [&](int i) -> asio::awaitable<void> {
    mockdb::Params params{i};
    if (callers == Callers::serialised) {
      co_await serialised.query(ch07::kNoteQuery, std::move(params));
    } else {
      co_await ch07::run_query(pool, ch07::kNoteQuery, std::move(params));
    }
    ++done;
  };
  // Declared out here: a lambda coroutine borrows its closure, which must
  // outlive the run below (AddressSanitizer caught it declared in the loop).
  auto one_after_another = [&]() -> asio::awaitable<void> {
    for (int i = 1; i <= n; ++i) co_await one_query(i);
  };
  for (auto _ : state) {
    if (callers == Callers::sequential) {
      asio::co_spawn(ctx, one_after_another(), asio::detached);
    } else {
      for (int i = 1; i <= n; ++i) asio::co_spawn(ctx, one_query(i), asio::detached);
    }
    workbook::run_until_idle(ctx);
  }
  const mockdb::Stats stats = db.stats();
  state.counters["queries"] =
      benchmark::Counter(static_cast<double>(done), benchmark::Counter::kIsRate);
  state.counters["completed"] =  // per iteration: N when every request finished
      benchmark::Counter(static_cast<double>(done), benchmark::Counter::kAvgIterations);
  state.counters["max_in_flight"] = static_cast<double>(stats[mockdb::OpKind::query].max_in_flight);
  state.counters["connects"] = static_cast<double>(stats[mockdb::OpKind::connect].started);
}

void add(const std::string& name, Callers callers) {
  benchmark::RegisterBenchmark(name.c_str(), run_queries, callers)
      ->Arg(1)
      ->Arg(8)
      ->Arg(64)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}

const bool registered = [] {
  const std::string variant = workbook::variant_name();
  add(variant + "/sequential", Callers::sequential);
  add(variant + "/concurrent", Callers::concurrent);
  // The reference point of the lesson: an async lock held across the query.
  // It is the same provided code in both builds, so only the fix's runs it.
  if (variant == "fix") add("serialised/concurrent", Callers::serialised);
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
