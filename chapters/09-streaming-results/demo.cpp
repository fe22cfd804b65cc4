// Chapter 09's demo: export an events table of 2,000 rows in pages of 200, at
// 10 ms a query. Built twice, as ch09_demo_pitfall and ch09_demo_fix, it draws
// the database's trace of the page queries and says how many rows the export
// held at once, how many rows the database scanned, and when the first row
// reached the consumer, and draws the rows the database scanned for each page:
// a staircase for OFFSET paging, a flat line for keyset paging.
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "event_export.hpp"
#include "mockdb/mock_database.hpp"
#include "workbook/clock.hpp"
#include "workbook/measured.hpp"
#include "workbook/run.hpp"
#include "workbook/timeline.hpp"
#include "workbook/variant.hpp"

using namespace std::chrono_literals;

namespace {

// The mock, with the rows each query scanned written down (the export runs its
// queries one after another, so the counter's growth over a query is its own).
class ScanMeter final : public mockdb::DatabaseService {
 public:
  explicit ScanMeter(mockdb::MockDatabase& inner) : inner_(inner) {}

  boost::asio::awaitable<std::unique_ptr<mockdb::Connection>> connect() override {
    return inner_.connect();
  }
  boost::asio::awaitable<mockdb::Id> create(std::string table, mockdb::Row row) override {
    return inner_.create(std::move(table), std::move(row));
  }
  boost::asio::awaitable<std::optional<mockdb::Row>> read(std::string table,
                                                          mockdb::Id id) override {
    return inner_.read(std::move(table), id);
  }
  boost::asio::awaitable<bool> update(std::string table, mockdb::Id id,
                                      mockdb::Row fields) override {
    return inner_.update(std::move(table), id, std::move(fields));
  }
  boost::asio::awaitable<bool> remove(std::string table, mockdb::Id id) override {
    return inner_.remove(std::move(table), id);
  }
  boost::asio::awaitable<mockdb::Rows> query(std::string sql, mockdb::Params params) override {
    const std::uint64_t before = inner_.stats().rows_scanned;
    mockdb::Rows rows = co_await inner_.query(std::move(sql), std::move(params));
    scanned.push_back(inner_.stats().rows_scanned - before);
    co_return rows;
  }

  std::vector<std::uint64_t> scanned;  // per query, in order

 private:
  mockdb::MockDatabase& inner_;
};

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
  ScanMeter meter(db);
  const std::uint64_t handed =
      workbook::run_to_completion(ctx, ch09::for_each_event(meter, kPage, std::move(sink)));
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
  std::printf("rows scanned by each page query (a page holds %zu rows):\n", kPage);
  for (std::size_t i = 0; i < meter.scanned.size(); ++i) {
    const std::uint64_t n = meter.scanned[i];
    std::printf("  page %2zu %5llu |%s\n", i + 1, static_cast<unsigned long long>(n),
                std::string(static_cast<std::size_t>(n / 50), '#').c_str());
  }
  std::printf("peak rows resident %zu (one page is %zu); rows scanned %llu (the table has %d)\n",
              ch09::ResidentRow::peak(), kPage, static_cast<unsigned long long>(stats.rows_scanned),
              kRows);
  workbook::print_measured("rows_scanned", static_cast<double>(stats.rows_scanned), "rows");
}

}  // namespace

int main() { return workbook::run_demo("the chapter 09 demo", demo); }
