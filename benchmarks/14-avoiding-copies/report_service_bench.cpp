// Chapter 14's benchmark: publish() and broadcast() of report rows of 1 KiB,
// 64 KiB and 1 MiB (the size argument, in bytes), on a loop of one thread
// (sequential) or two (concurrent). Each iteration publishes 4 rows and
// broadcasts 4 more to 4 subscribers each, all at once. Built against the
// pitfall and the fix; ./workbook bench 14 runs both.
//
// Counters, per iteration, read from the rows' own counters (nothing else
// allocates a body buffer, so `allocations` is honest): copies (deep copies
// of a row), allocations (body buffers beyond the 8 rows themselves), bytes
// copied, and moves.
//
// The fix build also measures the seed guide's cloning example ("guide/..."
// rows): 100 calls that each get a shared_ptr, from one thread or two sharing
// the same pointer, so its reference count is contended.
#include <benchmark/benchmark.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "report_service.hpp"
#include "workbook/bench.hpp"
#include "workbook/variant.hpp"

namespace asio = boost::asio;

namespace {

constexpr std::size_t kRows = 4;  // rows published, and rows broadcast, per iteration
constexpr int kSubscribers = 4;   // per broadcast

// Counts down the tasks of one iteration; the benchmark thread waits for zero.
class Pending {
 public:
  explicit Pending(int tasks) : left_(tasks) {}
  void done(const std::exception_ptr& e) {
    const std::scoped_lock lock(mutex_);
    if (e && !error_) error_ = e;
    if (--left_ == 0) all_done_.notify_one();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    all_done_.wait(lock, [this] { return left_ == 0; });
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::mutex mutex_;
  std::condition_variable all_done_;
  int left_;
  std::exception_ptr error_;
};

void publish_and_broadcast(benchmark::State& state, bool concurrent) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  asio::thread_pool loop(concurrent ? 2 : 1);  // the io_context's threads
  mockdb::MockDatabase db{mockdb::MockConfig{.max_connections = 0, .trace = false}};
  ch14::CopyCounter counter;
  counter.watch_shared_owners(false);  // the test's probe: it would add atomics per chunk
  ch14::Outbox outbox{kSubscribers};
  ch14::Services services{db, outbox};

  ch14::CopyCounts made{};  // what making the rows themselves counted, to subtract
  for (auto _ : state) {
    state.PauseTiming();
    const auto before = counter.counts();
    std::vector<ch14::ReportRow> rows;
    rows.reserve(2 * kRows);
    for (std::size_t i = 0; i < 2 * kRows; ++i) {
      rows.emplace_back(static_cast<mockdb::Id>(i + 1), bytes, counter);
    }
    const auto after = counter.counts();
    made.allocations += after.allocations - before.allocations;
    made.moves += after.moves - before.moves;
    state.ResumeTiming();

    Pending pending(static_cast<int>(2 * kRows));
    const auto done = [&pending](const std::exception_ptr& e, auto&&...) { pending.done(e); };
    for (std::size_t i = 0; i < kRows; ++i) {
      asio::co_spawn(loop, ch14::publish(services, std::move(rows[i])), done);
      asio::co_spawn(loop, ch14::broadcast(services, std::move(rows[kRows + i]), kSubscribers),
                     done);
    }
    pending.wait();
  }
  loop.join();

  const auto total = counter.counts();
  const auto per_iteration = [&state](double n) {
    return benchmark::Counter(n / static_cast<double>(state.iterations()));
  };
  state.counters["copies"] = per_iteration(static_cast<double>(total.copies));
  state.counters["allocations"] =
      per_iteration(static_cast<double>(total.allocations - made.allocations));
  state.counters["bytes_copied"] = per_iteration(static_cast<double>(total.bytes_copied));
  state.counters["moves"] = per_iteration(static_cast<double>(total.moves - made.moves));
}

// ---- the seed guide's example, in C++ ----
//
// Its "bad" and "good" versions both clone the Arc once per call and hand the
// clone to process(): one atomic increment and one decrement each time. The
// C++ counterparts: copy into a local then move it in, or copy straight into
// the by-value parameter; and what does save the increment: a reference.

struct Database {
  std::atomic<std::int64_t> queries{0};
};

std::shared_ptr<Database> shared_db = std::make_shared<Database>();

// By value on purpose: the seed's process() takes the Arc it is given.
__attribute__((noinline)) void process(
    std::shared_ptr<Database> db) {  // NOLINT(performance-unnecessary-value-param)
  benchmark::DoNotOptimize(db.get());
}
__attribute__((noinline)) void process_borrowed(const Database& db) {
  benchmark::DoNotOptimize(&db);
}

void guide_clone_then_pass(benchmark::State& state) {  // the seed's "BAD"
  const std::shared_ptr<Database>& db = shared_db;
  for (auto _ : state) {
    for (std::int64_t i = 0; i < state.range(0); ++i) {
      auto clone = db;  // NOLINT(performance-unnecessary-copy-initialization): the example
      process(std::move(clone));
    }
  }
}

void guide_clone_in_argument(benchmark::State& state) {  // the seed's "GOOD"
  const std::shared_ptr<Database>& db = shared_db;
  for (auto _ : state) {
    for (std::int64_t i = 0; i < state.range(0); ++i) process(db);
  }
}

void guide_borrow(benchmark::State& state) {  // no clone at all
  const std::shared_ptr<Database>& db = shared_db;
  for (auto _ : state) {
    for (std::int64_t i = 0; i < state.range(0); ++i) process_borrowed(*db);
  }
}

// One deep copy of a row of `bytes`, for scale: what a needless copy costs.
void guide_deep_copy(benchmark::State& state) {
  std::vector<char> row(static_cast<std::size_t>(state.range(0)), 'x');
  for (auto _ : state) {
    std::vector<char> copy = row;
    benchmark::DoNotOptimize(copy.data());
  }
  state.counters["bytes_copied"] = static_cast<double>(state.range(0));
}

const bool registered = [] {
  workbook::register_matrix(publish_and_broadcast, {1024, 65536, 1048576});
  if (std::strcmp(workbook::variant_name(), "fix") == 0) {
    for (const int threads : {1, 2}) {
      const std::string suffix = threads == 1 ? "-1-thread" : "-2-threads";
      benchmark::RegisterBenchmark(("guide/clone-then-pass" + suffix).c_str(),
                                   guide_clone_then_pass)
          ->Arg(100)
          ->Threads(threads)
          ->UseRealTime();
      benchmark::RegisterBenchmark(("guide/clone-in-argument" + suffix).c_str(),
                                   guide_clone_in_argument)
          ->Arg(100)
          ->Threads(threads)
          ->UseRealTime();
      benchmark::RegisterBenchmark(("guide/borrow" + suffix).c_str(), guide_borrow)
          ->Arg(100)
          ->Threads(threads)
          ->UseRealTime();
    }
    benchmark::RegisterBenchmark("guide/deep-copy", guide_deep_copy)
        ->Arg(1024)
        ->Arg(65536)
        ->Arg(1048576);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
