// Chapter 06's demo: one client loads a note while the database is down for
// 50 ms. Built twice, as ch06_demo_pitfall and ch06_demo_fix. It counts the
// reads the database had to refuse, draws how many arrived in each 5 ms of the
// outage, and draws the fix's few attempts as a timeline; the pitfall's
// thousands would not fit on a screen.
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "note_loader.hpp"
#include "workbook/clock.hpp"
#include "workbook/measured.hpp"
#include "workbook/run.hpp"
#include "workbook/timeline.hpp"
#include "workbook/variant.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

void demo() {
  constexpr auto kOutage = 50ms;
  constexpr auto kBucket = 5ms;
  asio::io_context ctx;
  mockdb::MockDatabase db{mockdb::MockConfig{.max_connections = 0}};
  workbook::run_to_completion(ctx, ch06::add_sample_notes(db, 1));
  db.set_latency(mockdb::OpKind::read, mockdb::Latency::fixed(10us));
  db.trace().clear();
  db.reset_stats();

  std::printf("Chapter 06, %s: load_note() while the database is down for 50 ms\n",
              workbook::variant_name());
  const auto start = workbook::Clock::now();
  db.outage(0ms, kOutage);
  ch06::RetryPolicy policy;  // 8 attempts, waits from 2 ms up to 100 ms, 1 s deadline
  std::string result;
  try {
    const auto note = workbook::run_to_completion(ctx, ch06::load_note(db, 1, policy));
    result = note ? "read the note" : "found no note";
  } catch (const std::exception& e) {
    result = std::string("failed: ") + e.what();
  }
  const auto took = workbook::Clock::now() - start;

  const auto spans = db.trace().spans();
  std::vector<std::size_t> buckets(kOutage / kBucket + 1);
  for (const auto& span : spans) {
    const auto at = span.start - start;
    buckets[std::min<std::size_t>(buckets.size() - 1, at / kBucket)] += 1;
  }
  const std::size_t most = *std::max_element(buckets.begin(), buckets.end());
  std::printf("\nreads started in each 5 ms (each # is %zu read%s):\n",
              std::max<std::size_t>(1, most / 50), most / 50 > 1 ? "s" : "");
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    const std::size_t bar = most <= 50 ? buckets[b] : buckets[b] * 50 / most;
    std::printf("  %-9s %5zu %s\n",
                b + 1 < buckets.size()
                    ? (std::to_string(b * 5) + "-" + std::to_string(b * 5 + 5) + " ms").c_str()
                    : "later   ",
                buckets[b], std::string(bar, '#').c_str());
  }
  const mockdb::OpStats reads = db.stats()[mockdb::OpKind::read];
  if (spans.size() <= 20) {
    workbook::TimelineOptions options;
    options.title = "every read, from the database's trace:";
    std::printf("\n");
    std::cout << workbook::render_timeline(spans, options);
  }
  std::printf("\n%s after %.1f ms: %llu reads, %llu refused (the budget: %d attempts)\n",
              result.c_str(), workbook::to_ms(took), static_cast<unsigned long long>(reads.started),
              static_cast<unsigned long long>(reads.failed), policy.max_attempts);
  workbook::print_measured("reads_sent", static_cast<double>(reads.started), "reads");
}

}  // namespace

int main() { return workbook::run_demo("the chapter 06 demo", demo); }
