// Chapter 02's benchmark: N requests for note pages, one after another
// (sequential) or all at once (concurrent), against the mock database in real
// time (a read and a view log of 1 ms each). Built against the pitfall and
// the fix; ./workbook bench 02 runs both.
//
// The fix runs every request on one event-loop thread. The pitfall cannot:
// its first request would block that thread for good (the chapter's freeze).
// The only way to run it is the design it assumes, where every request has a
// thread of its own to block, here an asio::thread_pool beside the loop's
// thread: one pool thread for sequential requests, N for N concurrent ones.
//
// Counters: requests per second; completed (per iteration: N when every
// request finished); threads (threads serving the requests, the loop's
// included); peak_in_flight (reads the database saw at once); stack_MiB
// (stack address space those threads reserve, at the default size);
// heap_KiB_in_flight (heap in use while every request waits, measured with
// mallinfo2, 0 under a sanitizer); news_per_request (calls of operator new)
// and frames_per_request (allocations through std::aligned_alloc, which is
// where Asio 1.26 gets coroutine frames that its recycling cache cannot
// serve; 0 under a sanitizer, whose allocator this program does not wrap).
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <pthread.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdlib>
#include <cstring>
#include <future>
#include <new>
#include <string>
#include <thread>

#include "mockdb/mock_database.hpp"
#include "note_store.hpp"
#include "workbook/bench.hpp"
#include "workbook/run.hpp"
#include "workbook/variant.hpp"

namespace {
std::atomic<std::int64_t> g_news{0};
std::atomic<std::int64_t> g_aligned{0};
}  // namespace

// Counting every operator new (the sanitizers accept the replacement: they
// still intercept malloc and free).
void* operator new(std::size_t size) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;  // NOLINT(cppcoreguidelines-no-malloc)
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }  // NOLINT(cppcoreguidelines-no-malloc)
void operator delete(void* p, std::size_t /*size*/) noexcept {
  std::free(p);  // NOLINT(cppcoreguidelines-no-malloc)
}

// Asio allocates coroutine frames with std::aligned_alloc
// (boost/asio/detail/memory.hpp, aligned_new), not operator new. Wrapping it
// counts them; not under a sanitizer, whose free() would not know the memory.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define CH02_COUNT_ALIGNED 1
extern "C" void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  g_aligned.fetch_add(1, std::memory_order_relaxed);
  return memalign(alignment, size);  // glibc: freed by free()
}
#endif

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::size_t default_stack_bytes() {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  std::size_t bytes = 0;
  pthread_attr_getstacksize(&attr, &bytes);
  pthread_attr_destroy(&attr);
  return bytes;
}

std::size_t heap_in_use() { return mallinfo2().uordblks; }

void run_requests(benchmark::State& state, bool concurrent) {
  const int n = static_cast<int>(state.range(0));
  const bool blocking = std::strcmp(workbook::variant_name(), "pitfall") == 0;
  ch02::bridge_trace().set_enabled(false);
  asio::io_context ctx;
  mockdb::MockDatabase db{mockdb::MockConfig{.operation_latency = mockdb::Latency::fixed(1ms),
                                             .trace = false}};
  db.set_latency(mockdb::OpKind::create, mockdb::Latency::none());
  workbook::run_to_completion(ctx, ch02::add_notes(db, n));
  db.set_latency(mockdb::OpKind::create, mockdb::Latency::fixed(1ms));
  const auto store = workbook::run_to_completion(ctx, ch02::DatabaseNoteStore::open(db));
  ch02::BlockingNoteStore legacy(ctx.get_executor(), *store);
  ch02::Services services{*store, legacy};

  // The pitfall: a pool thread per request in flight, and the loop's thread.
  const std::size_t pool_threads = blocking ? (concurrent ? static_cast<std::size_t>(n) : 1) : 0;
  std::optional<asio::thread_pool> pool;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> keep_running;
  std::thread loop;
  if (blocking) {
    pool.emplace(pool_threads);
    ctx.restart();
    keep_running.emplace(ctx.get_executor());
    loop = std::thread([&ctx] { ctx.run(); });
  }
  const auto executor = [&]() -> asio::any_io_executor {
    if (blocking) return pool->get_executor();
    return ctx.get_executor();
  };

  std::atomic<int> done{0};
  std::int64_t completed = 0;
  std::size_t heap_peak = 0;
  std::int64_t news = 0;
  std::int64_t frames = 0;
  auto one_after_another = [&]() -> asio::awaitable<void> {
    for (int i = 1; i <= n; ++i) {
      co_await ch02::show_note(services, i);
      ++done;
    }
  };
  db.reset_stats();
  for (auto _ : state) {
    done = 0;
    const std::size_t heap_before = heap_in_use();
    const std::int64_t news_before = g_news.load();
    const std::int64_t aligned_before = g_aligned.load();
    std::promise<void> all_done;
    auto finished = all_done.get_future();
    std::atomic<int> outstanding{concurrent ? n : 1};
    auto on_done = [&](const std::exception_ptr&) {
      if (--outstanding == 0) all_done.set_value();
    };
    if (concurrent) {
      for (int i = 1; i <= n; ++i) {
        asio::co_spawn(executor(), ch02::show_note(services, i),
                       [&](const std::exception_ptr& e, const std::string&) {
                         ++done;
                         on_done(e);
                       });
      }
    } else {
      asio::co_spawn(executor(), one_after_another(), on_done);
    }
    if (blocking) {
      // While every request waits: the heap they hold (not exact: the
      // pool's threads run meanwhile).
      std::this_thread::sleep_for(500us);
      heap_peak = std::max(heap_peak, heap_in_use() - std::min(heap_in_use(), heap_before));
      finished.wait();
    } else {
      // Run until every request waits for the database, measure, then finish.
      ctx.restart();
      ctx.poll();
      heap_peak = std::max(heap_peak, heap_in_use() - std::min(heap_in_use(), heap_before));
      workbook::run_until_idle(ctx);
      finished.wait();
    }
    news += g_news.load() - news_before;
    frames += g_aligned.load() - aligned_before;
    completed += done.load();
  }
  if (blocking) {
    keep_running.reset();
    loop.join();
    pool->join();
  }
  const double requests = static_cast<double>(completed);
  const std::size_t threads = blocking ? pool_threads + 1 : 1;
  const mockdb::Stats stats = db.stats();
  state.counters["requests"] = benchmark::Counter(requests, benchmark::Counter::kIsRate);
  state.counters["completed"] = benchmark::Counter(requests, benchmark::Counter::kAvgIterations);
  state.counters["threads"] = static_cast<double>(threads);
  state.counters["peak_in_flight"] = static_cast<double>(stats[mockdb::OpKind::read].max_in_flight);
  state.counters["stack_MiB"] =
      static_cast<double>(threads * default_stack_bytes()) / (1024.0 * 1024.0);
  state.counters["heap_KiB_in_flight"] = static_cast<double>(heap_peak) / 1024.0;
  state.counters["news_per_request"] =
      requests > 0 ? static_cast<double>(news) / requests : 0.0;
  state.counters["frames_per_request"] =
      requests > 0 ? static_cast<double>(frames) / requests : 0.0;
}

const bool registered = [] {
  workbook::register_matrix(run_requests);
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
