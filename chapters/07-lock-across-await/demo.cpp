// Chapter 07's demo: six queries arrive together and share a pool of two
// connections on one event-loop thread. Built twice, as ch07_demo_pitfall and
// ch07_demo_fix. The fix draws when each query waited and ran: three waves of
// two. The pitfall never gets that far: its second caller blocks the thread
// in std::mutex::lock(), and the watchdog ends the program with its report.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <iostream>

#include "connection_pool.hpp"
#include "mockdb/mock_database.hpp"
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
  constexpr int kQueries = 6;
  constexpr std::size_t kPoolSize = 2;
  asio::io_context ctx;
  mockdb::MockDatabase db{mockdb::MockConfig{.max_connections = kPoolSize,
                                             .connect_latency = mockdb::Latency::fixed(20ms)}};
  workbook::run_to_completion(ctx, ch07::add_notes(db, kQueries));
  db.trace().clear();
  db.set_latency(mockdb::OpKind::query, mockdb::Latency::fixed(60ms));

  std::printf(
      "Chapter 07, %s: %d queries through a pool of %zu connections, one event-loop thread\n",
      workbook::variant_name(), kQueries, kPoolSize);
  std::printf("(a watchdog ends the program if it has not finished within 1 s of real time)\n");
  std::fflush(stdout);

  workbook::StallDetector stalls{15ms};
  workbook::Watchdog watchdog{1000ms, "the chapter 07 demo (6 queries, pool of 2)", &stalls};
  ch07::ConnectionPool pool(ctx.get_executor(), db, kPoolSize);
  workbook::Trace callers{"callers"};
  int answered = 0;
  const auto start = workbook::Clock::now();
  workbook::Clock::time_point last_answer = start;
  for (int i = 1; i <= kQueries; ++i) {
    const auto span = callers.begin("caller", "note " + std::to_string(i));
    mockdb::Params params{i};
    asio::co_spawn(stalls.wrap(ctx.get_executor(), "query for note " + std::to_string(i)),
                   ch07::run_query(pool, ch07::kNoteQuery, std::move(params)),
                   [&callers, &answered, &last_answer, span](const std::exception_ptr& error,
                                                             const mockdb::Rows&) {
                     callers.end(span, error ? workbook::Outcome::failed : workbook::Outcome::ok);
                     if (error) return;
                     ++answered;
                     last_answer = workbook::Clock::now();
                   });
  }
  workbook::run_until_idle(ctx);

  workbook::TimelineOptions options;
  options.title = "each caller, from its call to its result (waiting for a slot included)";
  std::cout << workbook::render_timeline(callers.spans(), options);
  options.title = "the database: connects and queries";
  std::cout << workbook::render_timeline(db.trace().spans(), options);
  const mockdb::Stats stats = db.stats();
  std::printf("queries in flight at most: %zu; connections opened: %llu (at most %zu open)\n",
              stats[mockdb::OpKind::query].max_in_flight,
              static_cast<unsigned long long>(stats[mockdb::OpKind::connect].started),
              stats.max_open_connections);
  std::printf("%s\n", stalls.report().c_str());
  if (answered == kQueries) {
    workbook::print_measured("last_result", workbook::to_ms(last_answer - start), "ms");
  }
}

}  // namespace

int main() { return workbook::run_demo("the chapter 07 demo", demo); }
