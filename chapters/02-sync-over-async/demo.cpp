// Chapter 02's demo: eight requests for note pages arrive together on one
// event-loop thread. Built twice, as ch02_demo_pitfall and ch02_demo_fix. The
// fix draws the eight reads and view logs side by side. The pitfall never
// gets that far: its first request blocks the thread in future::get(), and
// the watchdog ends the program with its report of who waits for what.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <iostream>

#include "mockdb/mock_database.hpp"
#include "note_store.hpp"
#include "workbook/clock.hpp"
#include "workbook/measured.hpp"
#include "workbook/run.hpp"
#include "workbook/stall.hpp"
#include "workbook/timeline.hpp"
#include "workbook/variant.hpp"
#include "workbook/watchdog.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

void demo() {
  constexpr int kRequests = 8;
  asio::io_context ctx;
  mockdb::MockDatabase db;
  workbook::run_to_completion(ctx, ch02::add_notes(db, kRequests));
  const auto store = workbook::run_to_completion(ctx, ch02::DatabaseNoteStore::open(db));
  ch02::BlockingNoteStore legacy(ctx.get_executor(), *store);
  ch02::Services services{*store, legacy};
  db.trace().clear();
  db.set_latency(mockdb::OpKind::read, mockdb::Latency::fixed(40ms));
  db.set_latency(mockdb::OpKind::create, mockdb::Latency::fixed(20ms));

  std::printf("Chapter 02, %s: %d requests for note pages on one event-loop thread\n",
              workbook::variant_name(), kRequests);
  std::printf("(a watchdog ends the program if it has not finished within 1 s of real time)\n");
  std::fflush(stdout);

  workbook::StallDetector stalls{15ms};
  workbook::Watchdog watchdog{1000ms, "the chapter 02 demo (8 requests for note pages)", &stalls};
  int served = 0;
  const auto start = workbook::Clock::now();
  workbook::Clock::time_point last_served = start;
  for (int i = 1; i <= kRequests; ++i) {
    asio::co_spawn(stalls.wrap(ctx.get_executor(), "request for note " + std::to_string(i)),
                   ch02::show_note(services, i),
                   [&served, &last_served](const std::exception_ptr& error, const std::string&) {
                     if (error) return;
                     ++served;
                     last_served = workbook::Clock::now();
                   });
  }
  workbook::run_until_idle(ctx);

  workbook::TimelineOptions options;
  options.title = "the database: a read, then a view logged, per request";
  std::cout << workbook::render_timeline(db.trace().spans(), options);
  std::printf("pages served: %d of %d; reads in flight at most: %zu\n", served, kRequests,
              db.stats()[mockdb::OpKind::read].max_in_flight);
  std::printf("%s\n", stalls.report().c_str());
  if (served == kRequests) {
    workbook::print_measured("all_served", workbook::to_ms(last_served - start), "ms");
  }
}

}  // namespace

int main() { return workbook::run_demo("the chapter 02 demo", demo); }
