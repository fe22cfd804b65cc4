// Chapter 13's demo: a thread of 15 posts (each with two replies, four levels
// deep) loaded with queries of 30 ms. Built twice, as ch13_demo_pitfall and
// ch13_demo_fix, it draws each fetch of a post's replies (a staircase of
// 15, or four steps) and says how many latencies the load took.
//
// It is also the chapter's measuring instrument for recursion itself:
//   ch13_demo_fix --depth N       awaits a chain of N nested coroutines (each
//                                 level co_awaits the next) and reports how
//                                 far the native stack grew and how many heap
//                                 bytes each level's frame took;
//   ch13_demo_fix --load-chain N  loads a chain of N posts (no latency) with
//                                 this build's load_thread() and reports the
//                                 heap it held at its peak, per level;
//   ch13_demo_fix --post-chain N  builds a loaded thread N levels deep (a
//                                 ch13::Post chain) and destroys it, which
//                                 recurses on the native stack.
// Run them under a small stack (`ulimit -s 256`) to see which one needs it.
#include <malloc.h>

#include <bit>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <utility>

#include "mockdb/mock_database.hpp"
#include "reply_tree.hpp"
#include "workbook/clock.hpp"
#include "workbook/measured.hpp"
#include "workbook/run.hpp"
#include "workbook/timeline.hpp"
#include "workbook/trace.hpp"
#include "workbook/variant.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Bytes the heap has handed out and not taken back; glibc's count sees the
// frames Asio allocates with aligned_alloc (not through operator new).
std::size_t heap_in_use() {
  const struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
}

// A database that draws each fetch of a post's replies in a trace of its
// own, labelled with the post, and sends everything to the mock.
class DrawnDatabase final : public mockdb::DatabaseService {
 public:
  explicit DrawnDatabase(mockdb::MockDatabase& inner) : inner_(inner) {}

  asio::awaitable<std::unique_ptr<mockdb::Connection>> connect() override {
    return inner_.connect();
  }
  asio::awaitable<mockdb::Id> create(std::string table, mockdb::Row row) override {
    return inner_.create(std::move(table), std::move(row));
  }
  asio::awaitable<std::optional<mockdb::Row>> read(std::string table, mockdb::Id id) override {
    const auto span = trace.begin("read", "post " + std::to_string(id));
    auto row = co_await inner_.read(std::move(table), id);
    trace.end(span, workbook::Outcome::ok);
    co_return row;
  }
  asio::awaitable<bool> update(std::string table, mockdb::Id id, mockdb::Row fields) override {
    return inner_.update(std::move(table), id, std::move(fields));
  }
  asio::awaitable<bool> remove(std::string table, mockdb::Id id) override {
    return inner_.remove(std::move(table), id);
  }
  asio::awaitable<mockdb::Rows> query(std::string sql, mockdb::Params params) override {
    const std::size_t heap = heap_in_use();
    if (heap > peak_heap) peak_heap = heap;
    const auto span = trace.begin("replies", "of post " + boost::json::serialize(params.at(0)));
    auto rows = co_await inner_.query(std::move(sql), std::move(params));
    trace.end(span, workbook::Outcome::ok);
    co_return rows;
  }

  workbook::Trace trace{"replies"};
  std::size_t peak_heap = 0;  // the most heap in use when a query started

 private:
  mockdb::MockDatabase& inner_;
};

void load_a_thread() {
  constexpr auto kLatency = 30ms;
  asio::io_context ctx;
  mockdb::MockDatabase db;
  const mockdb::Id root = workbook::run_to_completion(ctx, ch13::add_balanced_thread(db, 2, 4));
  db.set_latency(mockdb::OpKind::read, mockdb::Latency::fixed(kLatency));
  db.set_latency(mockdb::OpKind::query, mockdb::Latency::fixed(kLatency));
  db.reset_stats();
  DrawnDatabase drawn(db);

  const auto start = workbook::Clock::now();
  const ch13::Post thread = workbook::run_to_completion(ctx, ch13::load_thread(drawn, root, 8));
  const auto took = workbook::Clock::now() - start;

  workbook::TimelineOptions options;
  options.title = std::string("Chapter 13, ") + workbook::variant_name() +
                  ": load_thread(), 15 posts, 4 levels, 30 ms a query";
  std::cout << workbook::render_timeline(drawn.trace.spans(), options);
  const double latencies = workbook::to_ms(took) / workbook::to_ms(kLatency);
  std::printf(
      "%zu posts in %zu levels loaded in %.0f ms = %.1f latencies, with at most %zu quer%s in "
      "flight\n(one post after another: 1 + 15 = 16 latencies; one level after another: "
      "1 + 4 = 5)\n",
      ch13::count_posts(thread), ch13::count_levels(thread), workbook::to_ms(took), latencies,
      db.stats()[mockdb::OpKind::query].max_in_flight,
      db.stats()[mockdb::OpKind::query].max_in_flight == 1 ? "y" : "ies");
  workbook::print_measured("load_time", workbook::to_ms(took), "ms");
}

// ---- the measurements of recursion itself ----

// Where this function's own stack frame is: a native stack address.
[[gnu::noinline]] std::uintptr_t native_stack_here() {
  return std::bit_cast<std::uintptr_t>(__builtin_frame_address(0));
}

struct Depth {
  std::uintptr_t top = 0;     // a native stack address in the outermost level
  std::uintptr_t bottom = 0;  // the same in the innermost level
  std::size_t heap_top = 0;   // heap in use in the outermost level
  std::size_t heap_bottom = 0;
};

// One level of the chain: awaits the level below, as the pitfall's
// load_replies() awaits a reply's subtree. The innermost level suspends once
// (a post), as a real query would, and notes where the native stack and the
// heap stand with every frame of the chain alive.
asio::awaitable<int> descend(int levels, Depth& seen) {
  if (levels == 0) {
    seen.bottom = native_stack_here();
    seen.heap_bottom = heap_in_use();
    co_await asio::post(asio::use_awaitable);
    co_return 0;
  }
  co_return 1 + co_await descend(levels - 1, seen);
}

asio::awaitable<int> start_descent(int levels, Depth& seen) {
  seen.top = native_stack_here();
  seen.heap_top = heap_in_use();
  co_return co_await descend(levels, seen);
}

void measure_depth(int levels) {
  asio::io_context ctx;
  Depth seen;
  const int reached = workbook::run_to_completion(ctx, start_descent(levels, seen));
  const auto grew = static_cast<long long>(seen.top) - static_cast<long long>(seen.bottom);
  std::printf(
      "awaited a chain of %d coroutines (reached %d): native stack at the innermost level "
      "minus at the outermost: %+lld bytes; heap: %zu bytes more, %.1f per level\n",
      levels, reached, grew, seen.heap_bottom - seen.heap_top,
      static_cast<double>(seen.heap_bottom - seen.heap_top) / levels);
}

void measure_load_chain(int levels) {
  asio::io_context ctx;
  mockdb::MockDatabase db{mockdb::MockConfig{.max_connections = 100, .trace = false}};
  const mockdb::Id root = workbook::run_to_completion(ctx, ch13::add_chain(db, levels));
  DrawnDatabase drawn(db);
  drawn.trace.set_enabled(false);
  const std::size_t before = heap_in_use();
  std::size_t posts = 0;
  {
    const ch13::Post thread = workbook::run_to_completion(ctx, ch13::load_thread(drawn, root, 8));
    posts = ch13::count_posts(thread);
  }
  const std::size_t peak = drawn.peak_heap - before;
  std::printf(
      "%s: loaded a chain of %zu posts; at its peak (the last query) the load held %zu heap "
      "bytes, %.1f per level (the tree so far included)\n",
      workbook::variant_name(), posts, peak, static_cast<double>(peak) / levels);
}

void measure_post_chain(int levels) {
  const std::size_t before = heap_in_use();
  auto chain = std::make_unique<ch13::Post>();
  ch13::Post* last = chain.get();
  for (int i = 1; i < levels; ++i) {
    last->replies.emplace_back();
    last = &last->replies.back();
  }
  const std::size_t built = heap_in_use() - before;
  std::printf("built a loaded thread of %d levels: %zu heap bytes, %.1f per post; destroying it\n",
              levels, built, static_cast<double>(built) / levels);
  std::fflush(stdout);
  chain.reset();  // ~Post -> ~vector<Post> -> ~Post ...: one native call level per post
  std::printf("destroyed it\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--depth") == 0) {
    const int levels = std::atoi(argv[2]);
    return workbook::run_demo("the chapter 13 depth measurement",
                              [levels] { measure_depth(levels); });
  }
  if (argc == 3 && std::strcmp(argv[1], "--load-chain") == 0) {
    const int levels = std::atoi(argv[2]);
    return workbook::run_demo("the chapter 13 chain measurement",
                              [levels] { measure_load_chain(levels); });
  }
  if (argc == 3 && std::strcmp(argv[1], "--post-chain") == 0) {
    const int levels = std::atoi(argv[2]);
    return workbook::run_demo("the chapter 13 post chain measurement",
                              [levels] { measure_post_chain(levels); });
  }
  return workbook::run_demo("the chapter 13 demo", load_a_thread);
}
