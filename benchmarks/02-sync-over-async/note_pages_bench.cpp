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
// request finished); os_threads (threads serving the requests, the loop's
// included; not "threads", which Google Benchmark's JSON already has); peak_in_flight (reads the
// database saw at once); stack_MiB (stack address space those threads reserve, at the default
// size); rss_KiB (resident memory added while every request waits: touched stack pages and heap)
// and heap_KiB (heap in use then, from mallinfo2; 0 under a sanitizer); news_per_request (calls of
// operator new) and asio_allocs_per_request (calls of std::aligned_alloc: Asio 1.26's recycling
// allocator, boost/asio/detail/thread_info_base.hpp, gets coroutine frames and handler memory there
// when its per-thread cache of two blocks cannot serve them; 0 under a sanitizer, whose allocator
// this program does not wrap).
//
// Two more series, the same in both builds, measure what one call of a
// virtual coroutine (NoteStore::find() on a store that answers at once)
// allocates: "virtual-call/sequential" creates and destroys one call's
// awaitable at a time on a loop thread; "virtual-call/concurrent" keeps N
// calls alive at once. asio_allocs_per_request is then allocations per call
// and frame_bytes the bytes of each.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "note_store.hpp"
#include "workbook/bench.hpp"
#include "workbook/run.hpp"
#include "workbook/variant.hpp"

namespace {
std::atomic<std::int64_t> g_news{0};
std::atomic<std::int64_t> g_aligned{0};
std::atomic<std::int64_t> g_aligned_bytes{0};
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
// g++ says so with __SANITIZE_*__, clang++ with __has_feature.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CH02_UNDER_SANITIZER  // NOLINT(cppcoreguidelines-macro-usage)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CH02_UNDER_SANITIZER  // NOLINT(cppcoreguidelines-macro-usage)
#endif
#endif
#if !defined(CH02_UNDER_SANITIZER)
extern "C" void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  g_aligned.fetch_add(1, std::memory_order_relaxed);
  g_aligned_bytes.fetch_add(static_cast<std::int64_t>(size), std::memory_order_relaxed);
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

// Resident memory in bytes (/proc/self/statm, second field, in pages).
std::size_t resident_bytes() {
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return 0;
  unsigned long size = 0;
  unsigned long resident = 0;
  const int read = std::fscanf(statm, "%lu %lu", &size, &resident);
  std::fclose(statm);
  return read == 2 ? resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

std::size_t grown(std::size_t now, std::size_t before) { return now > before ? now - before : 0; }

// Every run reports the same counters (./workbook bench reads them as CSV).
struct Figures {
  double completed = 0;
  double threads = 0;
  double peak_in_flight = 0;
  double rss_bytes = 0;
  double heap_bytes = 0;
  double news = 0;
  double asio_allocs = 0;
  double frame_bytes = 0;
};

void report(benchmark::State& state, const Figures& f) {
  const double per = f.completed > 0 ? f.completed : 1;
  state.counters["requests"] = benchmark::Counter(f.completed, benchmark::Counter::kIsRate);
  state.counters["completed"] = benchmark::Counter(f.completed, benchmark::Counter::kAvgIterations);
  state.counters["os_threads"] = f.threads;
  state.counters["peak_in_flight"] = f.peak_in_flight;
  state.counters["stack_MiB"] =
      f.threads * static_cast<double>(default_stack_bytes()) / (1024.0 * 1024.0);
  state.counters["rss_KiB"] = f.rss_bytes / 1024.0;
  state.counters["heap_KiB"] = f.heap_bytes / 1024.0;
  state.counters["news_per_request"] = f.news / per;
  state.counters["asio_allocs_per_request"] = f.asio_allocs / per;
  state.counters["frame_bytes"] = f.frame_bytes;
}

void run_requests(benchmark::State& state, bool concurrent) {
  const int n = static_cast<int>(state.range(0));
  const bool blocking = std::strcmp(workbook::variant_name(), "pitfall") == 0;
  ch02::bridge_trace().set_enabled(false);
  const std::size_t rss_at_start = resident_bytes();
  asio::io_context ctx;
  mockdb::MockDatabase db{
      mockdb::MockConfig{.operation_latency = mockdb::Latency::fixed(1ms), .trace = false}};
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
  std::size_t rss_peak = 0;
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
      heap_peak = std::max(heap_peak, grown(heap_in_use(), heap_before));
      rss_peak = std::max(rss_peak, grown(resident_bytes(), rss_at_start));
      finished.wait();
    } else {
      // Run until every request waits for the database, measure, then finish.
      ctx.restart();
      ctx.poll();
      heap_peak = std::max(heap_peak, grown(heap_in_use(), heap_before));
      rss_peak = std::max(rss_peak, grown(resident_bytes(), rss_at_start));
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
  Figures f;
  f.completed = static_cast<double>(completed);
  f.threads = static_cast<double>(blocking ? pool_threads + 1 : 1);
  f.peak_in_flight = static_cast<double>(db.stats()[mockdb::OpKind::read].max_in_flight);
  f.rss_bytes = static_cast<double>(rss_peak);
  f.heap_bytes = static_cast<double>(heap_peak);
  f.news = static_cast<double>(news);
  f.asio_allocs = static_cast<double>(frames);
  report(state, f);
}

// A store that answers at once: what is left of a call is its frame.
class ImmediateStore final : public ch02::NoteStore {
 public:
  asio::awaitable<std::optional<ch02::Note>> find(mockdb::Id id) override {
    co_return ch02::Note{id, "title", "body"};
  }
  asio::awaitable<void> log_view(mockdb::Id /*id*/) override { co_return; }
};

// Creates calls of a virtual coroutine without running them (a frame is
// allocated when the call is made; the body waits for co_await), on a
// thread that runs an io_context, as a request handler would.
void virtual_calls(benchmark::State& state, bool alive_together) {
  const int n = static_cast<int>(state.range(0));
  ImmediateStore immediate;
  ch02::NoteStore& store = immediate;
  asio::io_context ctx;
  std::int64_t calls = 0;
  std::int64_t allocs = 0;
  std::int64_t bytes = 0;
  for (auto _ : state) {
    asio::post(ctx, [&] {
      const std::int64_t before = g_aligned.load();
      const std::int64_t bytes_before = g_aligned_bytes.load();
      std::vector<asio::awaitable<std::optional<ch02::Note>>> pending;
      pending.reserve(static_cast<std::size_t>(n));  // before counting operator new: none counted
      for (int i = 0; i < n; ++i) {
        pending.push_back(store.find(i));
        if (!alive_together) pending.pop_back();  // destroyed unrun: its frame is recycled
      }
      allocs += g_aligned.load() - before;
      bytes += g_aligned_bytes.load() - bytes_before;
      calls += n;
    });
    ctx.restart();
    ctx.run();
  }
  Figures f;
  f.completed = static_cast<double>(calls);
  f.threads = 1;
  f.asio_allocs = static_cast<double>(allocs);
  f.frame_bytes = allocs > 0 ? static_cast<double>(bytes) / static_cast<double>(allocs) : 0;
  report(state, f);
}

const bool registered = [] {
  workbook::register_matrix(run_requests);
  for (const bool together : {false, true}) {
    const char* name = together ? "virtual-call/concurrent" : "virtual-call/sequential";
    benchmark::RegisterBenchmark(name, virtual_calls, together)
        ->Arg(64)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
