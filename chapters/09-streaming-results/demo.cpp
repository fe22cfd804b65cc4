// Chapter 09's demo: export an events table of 2,000 rows in pages of 200, at
// 10 ms a query. Built twice, as ch09_demo_pitfall and ch09_demo_fix, it draws
// the database's trace of the page queries and says how many rows the export
// held at once, how many rows the database scanned, and when the first row
// reached the consumer.
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "event_export.hpp"
#include "mockdb/mock_database.hpp"
#include "workbook/clock.hpp"
#include "workbook/run.hpp"
#include "workbook/timeline.hpp"
#include "workbook/variant.hpp"

using namespace std::chrono_literals;

namespace {

void demo() {
  constexpr int kRows = 2000;
  constexpr std::size_t kPage = 200;
  boost::asio::io_context ctx;
  mockdb::MockDatabase db;
  workbook::run_to_completion(ctx, ch09::add_sample_events(db, kRows));
  db.set_latency(mockdb::OpKind::query, mockdb::Latency::fixed(10ms));
  db.reset_stats();
  db.trace().clear();  // draw the page queries only
  ch09::ResidentRow::reset_peak();

  const auto start = workbook::Clock::now();
  std::optional<workbook::Clock::duration> first;
  std::int64_t total = 0;
  ch09::EventSink sink = [&](const ch09::Event& event) {
    if (!first) first = workbook::Clock::now() - start;
    total += event.amount;
    return true;
  };
  const std::uint64_t handed =
      workbook::run_to_completion(ctx, ch09::for_each_event(db, kPage, std::move(sink)));
  const auto took = workbook::Clock::now() - start;

  workbook::TimelineOptions options;
  options.title = std::string("Chapter 09, ") + workbook::variant_name() +
                  ": for_each_event() over 2000 rows, pages of 200, 10 ms per query";
  std::cout << workbook::render_timeline(db.trace().spans(), options);

  const mockdb::Stats stats = db.stats();
  std::printf(
      "%llu rows exported (total %lld cents) in %.0f ms with %llu queries; "
      "first row after %.0f ms\n",
      static_cast<unsigned long long>(handed), static_cast<long long>(total), workbook::to_ms(took),
      static_cast<unsigned long long>(stats[mockdb::OpKind::query].started),
      first ? workbook::to_ms(*first) : 0.0);
  std::printf("peak rows resident %zu (one page is %zu); rows scanned %llu (the table has %d)\n",
              ch09::ResidentRow::peak(), kPage, static_cast<unsigned long long>(stats.rows_scanned),
              kRows);
}

}  // namespace

int main() { return workbook::run_demo("the chapter 09 demo", demo); }
