// Chapter 12's demo: the nightly job checks 2,000 orders, 2 ms per read, with a
// limit of 16 checks in flight, against a database that allows 100
// connections. Built twice, as ch12_demo_pitfall and ch12_demo_fix. It draws
// the reads of every 100th order, and counts what the batch cost: reads that
// failed with "too many connections", reads and check_order() frames alive at
// once, and the heap the batch held at its peak.
#include <malloc.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "order_checker.hpp"
#include "workbook/clock.hpp"
#include "workbook/measured.hpp"
#include "workbook/run.hpp"
#include "workbook/timeline.hpp"
#include "workbook/variant.hpp"

namespace {

// The bytes malloc has handed out and not had back, as glibc counts them
// (mallinfo2). It counts every allocation, including Asio's coroutine frames,
// which Asio allocates with std::aligned_alloc rather than operator new. Under
// a sanitizer, whose allocator glibc does not see, it reads 0.
std::size_t heap_in_use() { return mallinfo2().uordblks; }

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr int kOrders = 2000;
constexpr std::size_t kLimit = 16;

// What one batch did.
struct Batch {
  std::size_t checked = 0;
  std::size_t refused = 0;  // failed with "too many connections"
  std::size_t other_errors = 0;
  workbook::Clock::duration took{};
  std::size_t max_in_flight = 0;
  std::size_t max_frames = 0;
  std::size_t heap_peak = 0;  // bytes above the heap at the start of the batch
};

// check_orders() of every order on `db`, which holds them and allows 100
// connections (as a small PostgreSQL does).
Batch check_all(asio::io_context& ctx, mockdb::MockDatabase& db) {
  std::vector<mockdb::Id> ids;
  for (mockdb::Id id = 1; id <= kOrders; ++id) ids.push_back(id);
  Batch batch;
  std::size_t heap_peak = 0;
  ch12::OnResult count = [&batch, &heap_peak](const ch12::OrderResult& r) {
    heap_peak = std::max(heap_peak, heap_in_use());  // the first result comes once all started
    if (r.error == mockdb::Errc::too_many_connections) {
      ++batch.refused;
    } else if (r.failed()) {
      ++batch.other_errors;
    } else {
      ++batch.checked;
    }
  };
  db.reset_stats();
  ch12::reset_check_frames();
  const std::size_t heap_before = heap_in_use();
  heap_peak = heap_before;
  const auto start = workbook::Clock::now();
  workbook::run_to_completion(ctx, ch12::check_orders(db, std::move(ids), kLimit, count));
  batch.took = workbook::Clock::now() - start;
  batch.heap_peak = heap_peak - heap_before;
  batch.max_in_flight = db.stats()[mockdb::OpKind::read].max_in_flight;
  batch.max_frames = ch12::check_frames().max_live;
  return batch;
}

void demo() {
  asio::io_context ctx;
  // Drawn: a database that traces every read.
  mockdb::MockDatabase traced;
  workbook::run_to_completion(ctx, ch12::add_sample_orders(traced, kOrders));
  traced.set_latency(mockdb::OpKind::read, mockdb::Latency::fixed(2ms));
  traced.trace().clear();
  const Batch drawn = check_all(ctx, traced);

  std::vector<workbook::Span> sample;  // every 100th order's read
  for (const auto& span : traced.trace().spans()) {
    const auto slash = span.key.find('/');
    if (slash != std::string::npos && std::stoll(span.key.substr(slash + 1)) % 100 == 0) {
      sample.push_back(span);
    }
  }
  workbook::TimelineOptions options;
  options.title = std::string("Chapter 12, ") + workbook::variant_name() +
                  ": 2000 checks, limit 16, 2 ms each (every 100th drawn)";
  std::cout << workbook::render_timeline(sample, options);
  std::printf(
      "%zu orders checked, %zu refused with \"too many connections\", %zu other errors, in "
      "%.0f ms\n",
      drawn.checked, drawn.refused, drawn.other_errors, workbook::to_ms(drawn.took));
  std::printf("at most %zu reads in flight (limit %zu; the database allows 100 connections)\n",
              drawn.max_in_flight, kLimit);

  // Weighed: the same batch on a database that keeps no trace, so that the
  // heap counted is the batch's own (frames, results, the database's
  // bookkeeping of each read in flight).
  mockdb::MockDatabase untraced{mockdb::MockConfig{.trace = false}};
  workbook::run_to_completion(ctx, ch12::add_sample_orders(untraced, kOrders));
  untraced.set_latency(mockdb::OpKind::read, mockdb::Latency::fixed(2ms));
  const Batch weighed = check_all(ctx, untraced);
  std::printf("at most %zu check_order() frames alive", weighed.max_frames);
  if (heap_in_use() == 0) {
    std::printf(" (heap not measured: a sanitizer's allocator is in use)\n");
  } else {
    std::printf("; heap held by the batch at its peak: %.0f KiB (a second run, untraced)\n",
                static_cast<double>(weighed.heap_peak) / 1024.0);
  }
  workbook::print_measured("refused", static_cast<double>(drawn.refused), "checks");
}

}  // namespace

int main() { return workbook::run_demo("the chapter 12 demo", demo); }
