// Chapter 13's benchmark: load_thread() at 1 ms per read and per query, with
// one load at a time (sequential) or four loads of the same thread at once
// (concurrent), on one event-loop thread, limit 16 per load. Built against
// the pitfall and the fix; ./workbook bench 13 runs both. Three shapes:
//   <variant>/{sequential,concurrent}/N        a thread where every post has
//                                              two replies, N levels deep
//                                              (2^N - 1 posts);
//   <variant>/chain/{sequential,concurrent}/N  a chain of N posts;
//   <variant>/star/{sequential,concurrent}/N   one post with N - 1 replies.
//
// Counters, per load: posts and levels of the thread; queries made;
// latencies, the time a load took in units of the latency; ideal, what level
// by level takes (the read, then ceil(width / 16) per level); in_flight, the
// most queries running at once (over all loads).
#include <benchmark/benchmark.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "reply_tree.hpp"
#include "workbook/bench.hpp"
#include "workbook/clock.hpp"
#include "workbook/run.hpp"
#include "workbook/variant.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto kLatency = 1ms;
constexpr int kLoads = 4;  // loads at once in the concurrent case
constexpr std::size_t kLimit = 16;

enum class Shape { balanced, chain, star };

mockdb::Id add_thread(asio::io_context& ctx, mockdb::MockDatabase& db, Shape shape, int n) {
  switch (shape) {
    case Shape::balanced:
      return workbook::run_to_completion(ctx, ch13::add_balanced_thread(db, 2, n));
    case Shape::chain:
      return workbook::run_to_completion(ctx, ch13::add_chain(db, n));
    case Shape::star:
      break;
  }
  return workbook::run_to_completion(ctx, ch13::add_balanced_thread(db, n - 1, 2));
}

void load_threads(benchmark::State& state, Shape shape, bool concurrent) {
  const int n = static_cast<int>(state.range(0));
  const int loads = concurrent ? kLoads : 1;
  asio::io_context ctx;
  mockdb::MockDatabase db{mockdb::MockConfig{.max_connections = 0, .trace = false}};
  const mockdb::Id root = add_thread(ctx, db, shape, n);
  db.set_latency(mockdb::OpKind::read, mockdb::Latency::fixed(kLatency));
  db.set_latency(mockdb::OpKind::query, mockdb::Latency::fixed(kLatency));
  db.reset_stats();

  std::size_t posts = 0;
  std::size_t levels = 0;
  std::int64_t completed = 0;
  workbook::Clock::duration busy{};
  for (auto _ : state) {
    const auto start = workbook::Clock::now();
    for (int l = 0; l < loads; ++l) {
      asio::co_spawn(ctx, ch13::load_thread(db, root, kLimit),
                     [&](const std::exception_ptr& e, const ch13::Post& thread) {
                       if (e) return;
                       posts = ch13::count_posts(thread);
                       levels = ch13::count_levels(thread);
                       ++completed;
                     });
    }
    workbook::run_until_idle(ctx);
    busy += workbook::Clock::now() - start;
  }
  // What level by level takes: the read, then ceil(width / limit) per level.
  std::size_t ideal = 1;
  if (shape == Shape::balanced) {
    for (std::size_t width = 1, l = 0; l < levels; ++l, width *= 2) {
      ideal += (width + kLimit - 1) / kLimit;
    }
  } else if (shape == Shape::chain) {
    ideal += levels;
  } else {
    ideal += 1 + (posts - 1 + kLimit - 1) / kLimit;
  }
  const auto stats = db.stats();
  const double per_load = completed > 0 ? static_cast<double>(completed) : 1.0;
  state.counters["posts"] = static_cast<double>(posts);
  state.counters["levels"] = static_cast<double>(levels);
  state.counters["queries"] = static_cast<double>(stats[mockdb::OpKind::query].started) / per_load;
  state.counters["latencies"] = workbook::to_ms(busy) / static_cast<double>(state.iterations()) /
                                workbook::to_ms(workbook::Clock::duration(kLatency));
  state.counters["ideal"] = static_cast<double>(ideal);
  state.counters["in_flight"] = static_cast<double>(stats[mockdb::OpKind::query].max_in_flight);
}

void register_shape(const char* shape_name, Shape shape, const std::vector<std::int64_t>& sizes) {
  for (const bool concurrent : {false, true}) {
    const std::string name = std::string(workbook::variant_name()) + "/" + shape_name +
                             (concurrent ? "/concurrent" : "/sequential");
    auto* benchmark = benchmark::RegisterBenchmark(
        name.c_str(),
        [shape, concurrent](benchmark::State& state) { load_threads(state, shape, concurrent); });
    for (const std::int64_t size : sizes) benchmark->Arg(size);
    benchmark->Unit(benchmark::kMillisecond)->UseRealTime();
  }
}

const bool registered = [] {
  workbook::register_matrix(
      [](benchmark::State& state, bool concurrent) {
        load_threads(state, Shape::balanced, concurrent);
      },
      {3, 5, 7});
  register_shape("chain", Shape::chain, {16, 64});
  register_shape("star", Shape::star, {32, 128});
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
