// Chapter 01's demo: six fingerprint requests arrive together and share one
// event-loop thread. Built twice, as chNN_demo_pitfall and chNN_demo_fix, it
// draws when each request ran and reports the longest the loop was held.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <iostream>

#include "fingerprint_service.hpp"
#include "mockdb/mock_database.hpp"
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
  constexpr int kRequests = 6;
  asio::io_context ctx;
  mockdb::MockDatabase db{mockdb::MockConfig{.operation_latency = mockdb::Latency::fixed(2ms)}};
  workbook::BlockingPool pool{2};
  ch01::SampleAttachments files{kRequests};
  ch01::Services services{db, pool, files.directory()};
  workbook::run_to_completion(ctx, files.add_notes(db));

  workbook::StallDetector stalls{15ms};
  workbook::Watchdog watchdog{10s, "the chapter 01 demo", &stalls};
  workbook::Trace requests{"requests"};
  for (mockdb::Id id = 1; id <= kRequests; ++id) {
    const std::string label = "request note " + std::to_string(id);
    const auto span = requests.begin("request", "note " + std::to_string(id));
    asio::co_spawn(stalls.wrap(ctx.get_executor(), label), ch01::fingerprint_note(services, id),
                   [&requests, span](const std::exception_ptr& error, const std::string&) {
                     requests.end(span, error ? workbook::Outcome::failed : workbook::Outcome::ok);
                   });
  }
  workbook::run_until_idle(ctx);

  const auto spans = requests.spans();
  workbook::Clock::duration slowest{};
  for (const auto& s : spans) slowest = std::max(slowest, s.duration());
  workbook::TimelineOptions options;
  options.title = std::string("Chapter 01, ") + workbook::variant_name() +
                  ": 6 requests started together on one event-loop thread";
  std::cout << workbook::render_timeline(spans, options);
  std::printf("slowest request: %.0f ms\n", workbook::to_ms(slowest));
  std::printf("%s\n", stalls.report().c_str());
  workbook::print_measured("slowest_request", workbook::to_ms(slowest), "ms");
}

}  // namespace

int main() { return workbook::run_demo("the chapter 01 demo", demo); }
