// Chapter 09's test, built against the pitfall and against the fix.
//
// An events table of 1,000 ids with a few deleted (ids have gaps, as in any
// table that has seen deletes), read in pages of 50 at 10 ms a query, in
// virtual time. The rows the export holds are counted by ResidentRow, which
// every Event carries, so the count does not depend on the code under test.
// The fix holds one page at a time, scans each row once, hands the first row
// over after one query, stops reading when the consumer stops, and lets a
// failed page's error reach the consumer after the pages before it. The
// pitfall collects the whole table first and pages with OFFSET, and the
// resident-rows, rows-scanned and first-row tests say so with the figures.
// The gallery in wrong-fixes/ is what these checks are written against.
#include "event_export.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "workbook/clock.hpp"
#include "workbook/format.hpp"
#include "workbook/run.hpp"
#include "workbook/watchdog.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using mockdb::Id;
using mockdb::OpKind;
using workbook::format;

namespace {

constexpr auto kLatency = 10ms;
constexpr int kIds = 1000;
constexpr std::size_t kPage = 50;
// A second page size, so that a page size written into the code shows.
constexpr std::size_t kOtherPage = 64;
// Deleted ids: inside the first page (so a page's last id is not its row
// count), on a page boundary, and the last id of the table.
const std::vector<Id> kGaps = {7, 50, 51, 333, 600, 999};

// Counts the queries of an export, wherever they run (on the database or on
// a connection of its own), and makes the `fail_at`-th (1-based) fail with a
// connection reset, as a page read over a flaky network would.
struct QueryFaults {
  mockdb::MockDatabase& db;
  std::uint64_t fail_at;
  std::uint64_t queries = 0;

  void before_query() {
    if (++queries == fail_at) db.fail_next(1, mockdb::Errc::connection_reset, OpKind::query);
  }
};

// A connection of the mock's, with its queries counted by QueryFaults.
class FaultyConnection final : public mockdb::Connection {
 public:
  FaultyConnection(std::unique_ptr<mockdb::Connection> inner, QueryFaults& faults)
      : inner_(std::move(inner)), faults_(faults) {}

  asio::awaitable<Id> create(std::string table, mockdb::Row row) override {
    return inner_->create(std::move(table), std::move(row));
  }
  asio::awaitable<std::optional<mockdb::Row>> read(std::string table, Id id) override {
    return inner_->read(std::move(table), id);
  }
  asio::awaitable<bool> update(std::string table, Id id, mockdb::Row fields) override {
    return inner_->update(std::move(table), id, std::move(fields));
  }
  asio::awaitable<bool> remove(std::string table, Id id) override {
    return inner_->remove(std::move(table), id);
  }
  asio::awaitable<mockdb::Rows> query(std::string sql, mockdb::Params params) override {
    faults_.before_query();
    return inner_->query(std::move(sql), std::move(params));
  }
  asio::awaitable<void> close() override { return inner_->close(); }

 private:
  std::unique_ptr<mockdb::Connection> inner_;
  QueryFaults& faults_;
};

// A database that passes everything to the mock, except that its queries (and
// those of its connections) go through QueryFaults.
class FailingDatabase final : public mockdb::DatabaseService {
 public:
  FailingDatabase(mockdb::MockDatabase& inner, std::uint64_t fail_at)
      : inner_(inner), faults_{inner, fail_at} {}

  asio::awaitable<std::unique_ptr<mockdb::Connection>> connect() override {
    std::unique_ptr<mockdb::Connection> connection = co_await inner_.connect();
    co_return std::make_unique<FaultyConnection>(std::move(connection), faults_);
  }
  asio::awaitable<Id> create(std::string table, mockdb::Row row) override {
    return inner_.create(std::move(table), std::move(row));
  }
  asio::awaitable<std::optional<mockdb::Row>> read(std::string table, Id id) override {
    return inner_.read(std::move(table), id);
  }
  asio::awaitable<bool> update(std::string table, Id id, mockdb::Row fields) override {
    return inner_.update(std::move(table), id, std::move(fields));
  }
  asio::awaitable<bool> remove(std::string table, Id id) override {
    return inner_.remove(std::move(table), id);
  }
  asio::awaitable<mockdb::Rows> query(std::string sql, mockdb::Params params) override {
    faults_.before_query();
    return inner_.query(std::move(sql), std::move(params));
  }

 private:
  mockdb::MockDatabase& inner_;
  QueryFaults faults_;
};

// What the sink of one export saw.
struct Seen {
  std::vector<Id> ids;                             // in the order handed over
  std::optional<workbook::Clock::duration> first;  // when the first row came
  std::uint64_t queries_at_first = 0;              // queries run by then
};

class StreamingResults : public testing::Test {
 protected:
  StreamingResults() {
    workbook::run_to_completion(ctx, ch09::add_sample_events(db, kIds, kGaps), "adding events");
    db.set_latency(OpKind::query, mockdb::Latency::fixed(kLatency));
    db.reset_stats();
    db.trace().clear();
  }

  void SetUp() override { ch09::ResidentRow::reset_peak(); }

  // Every test: the export let go of every row it held once it returned.
  void TearDown() override {
    EXPECT_EQ(ch09::ResidentRow::live(), 0u) << format(
        "%zu Events are still in memory after the export returned: rows were kept "
        "(a static or global buffer?) or leaked. Hold rows only while the sink "
        "needs them.",
        ch09::ResidentRow::live());
  }

  static std::size_t rows() { return static_cast<std::size_t>(kIds) - kGaps.size(); }

  // The ids the table holds, in order.
  static std::vector<Id> expected_ids() {
    std::vector<Id> ids;
    for (Id id = 1; id <= kIds; ++id) {
      if (std::find(kGaps.begin(), kGaps.end(), id) == kGaps.end()) ids.push_back(id);
    }
    return ids;
  }

  // Runs for_each_event() on `service` with a sink that records what it
  // sees and says stop after `stop_after` rows (0: never), in pages of
  // `page`. Returns what for_each_event() returned.
  std::uint64_t run_export(mockdb::DatabaseService& service, Seen& seen,
                           std::uint64_t stop_after = 0, std::size_t page = kPage) {
    const auto start = workbook::Clock::now();
    ch09::EventSink sink = [&, start](const ch09::Event& event) {
      if (!seen.first) {
        seen.first = workbook::Clock::now() - start;
        seen.queries_at_first = db.stats()[OpKind::query].started;
      }
      seen.ids.push_back(event.id);
      return stop_after == 0 || seen.ids.size() < stop_after;
    };
    workbook::Watchdog watchdog(5s, "for_each_event() over the events table");
    return workbook::run_to_completion(ctx, ch09::for_each_event(service, page, std::move(sink)),
                                       "for_each_event()");
  }

  workbook::VirtualTime time;
  asio::io_context ctx;
  mockdb::MockDatabase db;
};

TEST_F(StreamingResults, HoldsAtMostOnePageOfRows) {
  Seen seen;
  run_export(db, seen);
  const std::size_t peak = ch09::ResidentRow::peak();
  std::string why;
  if (peak >= rows()) {
    why = " (the whole table: every row was held at once)";
  } else if (peak > kPage) {
    why = format(" (%.1f pages: a page was still held while another was read)",
                 static_cast<double>(peak) / static_cast<double>(kPage));
  }
  EXPECT_LE(peak, kPage) << format(
      "peak rows resident %zu, budget %zu: for_each_event() over %zu rows in pages of %zu held "
      "%zu Events at once%s. Expected at most one page: hand each page's rows to the sink as the "
      "page arrives, and let the page go before reading the next.",
      peak, kPage, rows(), kPage, peak, why.c_str());
}

TEST_F(StreamingResults, HandsOverEveryRowOnceInIdOrder) {
  for (const std::size_t page : {kPage, kOtherPage}) {
    Seen seen;
    const std::uint64_t returned = run_export(db, seen, 0, page);
    std::map<Id, int> times;
    for (const Id id : seen.ids) ++times[id];
    for (const auto& [id, n] : times) {
      ASSERT_EQ(n, 1) << format(
          "in pages of %zu, row %lld was handed to the sink %d times; expected exactly once. "
          "Does a page start at the row the last page ended with (id >= last instead of "
          "id > last), or is the next page's start computed from a row count, which deleted ids "
          "make wrong?",
          page, static_cast<long long>(id), n);
    }
    const std::vector<Id> expected = expected_ids();
    for (const Id id : expected) {
      ASSERT_EQ(times.count(id), 1u) << format(
          "in pages of %zu, row %lld was never handed to the sink (%zu of %zu rows were); "
          "expected every row of the table. Is a page skipped, does the stream end before the "
          "table does, or is the page size written into the query instead of taken from "
          "page_size?",
          page, static_cast<long long>(id), seen.ids.size(), expected.size());
    }
    EXPECT_EQ(seen.ids, expected) << "the rows came out of id order; expected ascending ids.";
    EXPECT_EQ(returned, seen.ids.size()) << format(
        "for_each_event() returned %llu but handed %zu rows to the sink; expected the count of "
        "rows handed over.",
        static_cast<unsigned long long>(returned), seen.ids.size());
  }
}

TEST_F(StreamingResults, ScansEachRowOnce) {
  for (const std::size_t page : {kPage, kOtherPage}) {
    db.reset_stats();
    Seen seen;
    run_export(db, seen, 0, page);
    const std::uint64_t scanned = db.stats().rows_scanned;
    const std::uint64_t queries = db.stats()[OpKind::query].started;
    // Keyset paging reads each row once, and the last page may find nothing.
    const std::size_t linear = rows() + page;
    EXPECT_LE(scanned, linear) << format(
        "rows scanned quadratic: exporting %zu rows in %llu page queries of %zu scanned %llu "
        "rows, %.1f times the table; expected at most %zu (each row once, linear in the table). "
        "Page k read every row before it again: start each page after the last id handed out "
        "(WHERE id > $1 ORDER BY id LIMIT $2), not after skipping rows from the start (OFFSET).",
        rows(), static_cast<unsigned long long>(queries), page,
        static_cast<unsigned long long>(scanned),
        static_cast<double>(scanned) / static_cast<double>(rows()), linear);
    const std::uint64_t most = (rows() + page - 1) / page + 1;
    EXPECT_LE(queries, most) << format(
        "the export ran %llu queries for %zu rows in pages of %zu; expected at most %llu (one "
        "per page, and one that finds the end). Is the page size passed as LIMIT?",
        static_cast<unsigned long long>(queries), rows(), page,
        static_cast<unsigned long long>(most));
  }
}

TEST_F(StreamingResults, FirstRowArrivesAfterOnePage) {
  Seen seen;
  run_export(db, seen);
  ASSERT_TRUE(seen.first.has_value()) << "the sink was never called; expected every row.";
  EXPECT_LE(*seen.first, kLatency) << format(
      "the first row reached the sink after %.0f ms and %llu page queries; expected it after the "
      "first page, %.0f ms and 1 query. The consumer waited for the whole table to be read: hand "
      "each page over as it arrives.",
      workbook::to_ms(*seen.first), static_cast<unsigned long long>(seen.queries_at_first),
      workbook::to_ms(workbook::Clock::duration(kLatency)));
}

TEST_F(StreamingResults, StopsReadingWhenTheSinkStops) {
  // The auditor stops at row 10 (page 1), and in another export at row 120 (page 3).
  for (const std::uint64_t stop : {std::uint64_t{10}, std::uint64_t{120}}) {
    db.reset_stats();
    Seen seen;
    const std::uint64_t returned = run_export(db, seen, stop);
    const std::uint64_t page_of_stop = (stop + kPage - 1) / kPage;
    const std::uint64_t queries = db.stats()[OpKind::query].started;
    EXPECT_EQ(seen.ids.size(), stop) << format(
        "the sink said stop at row %llu, yet it was handed %zu rows; expected no row after it "
        "said stop.",
        static_cast<unsigned long long>(stop), seen.ids.size());
    EXPECT_EQ(returned, stop) << format(
        "for_each_event() returned %llu after the sink stopped at row %llu; expected %llu.",
        static_cast<unsigned long long>(returned), static_cast<unsigned long long>(stop),
        static_cast<unsigned long long>(stop));
    EXPECT_LE(queries, page_of_stop) << format(
        "the sink said stop at row %llu (page %llu), yet %llu page queries were run; expected "
        "%llu: pages the consumer never asked for were read. Stop reading when the sink says "
        "stop, and read a page only when the consumer wants its rows.",
        static_cast<unsigned long long>(stop), static_cast<unsigned long long>(page_of_stop),
        static_cast<unsigned long long>(queries), static_cast<unsigned long long>(page_of_stop));
  }
}

TEST_F(StreamingResults, ErrorInPageKReachesTheSinkAfterPagesBeforeIt) {
  constexpr std::uint64_t kFailing = 3;  // the third page's query fails
  FailingDatabase flaky(db, kFailing);
  Seen seen;
  std::optional<boost::system::error_code> error;
  try {
    run_export(flaky, seen);
  } catch (const boost::system::system_error& e) {
    error = e.code();
  }
  const std::size_t before = static_cast<std::size_t>(kFailing - 1) * kPage;
  ASSERT_TRUE(error.has_value()) << format(
      "page %llu's query failed, yet for_each_event() returned normally after handing %zu rows "
      "to the sink: the error was swallowed, and the consumer cannot tell a failed export from "
      "a finished one. Expected the DatabaseError to reach the caller.",
      static_cast<unsigned long long>(kFailing), seen.ids.size());
  EXPECT_EQ(*error, mockdb::Errc::connection_reset)
      << format("for_each_event() threw \"%s\"; expected the failed page's own error.",
                error->message().c_str());
  EXPECT_EQ(seen.ids.size(), before) << format(
      "page %llu's query failed after the sink was handed %zu rows; expected the %zu rows of "
      "pages 1 to %llu first. The rows read before the failure were held back: hand each page "
      "over as it arrives, so an error late in the table does not cost the consumer the rows "
      "before it.",
      static_cast<unsigned long long>(kFailing), seen.ids.size(), before,
      static_cast<unsigned long long>(kFailing - 1));
}

// A consumer that pulls pages itself, from a database whose second query
// fails once, and asks again after the failure. Returns the ids it got.
asio::awaitable<std::vector<Id>> pull_retrying_once(mockdb::MockDatabase& db) {
  std::vector<Id> ids;
  ch09::Cursor cursor;
  FailingDatabase flaky(db, 2);
  int failures = 0;
  while (!cursor.done) {
    try {
      const ch09::Page page = co_await ch09::next_page(flaky, cursor, kPage);
      for (const ch09::Event& event : page) ids.push_back(event.id);
    } catch (const boost::system::system_error&) {
      if (++failures > 1) throw;
    }
  }
  co_return ids;
}

TEST_F(StreamingResults, NextPageCanBeRetriedAfterAnError) {
  // Page 2 fails once; asking again must give page 2, not page 3 or page 1.
  workbook::Watchdog watchdog(5s, "pulling pages with next_page()");
  const std::vector<Id> ids =
      workbook::run_to_completion(ctx, pull_retrying_once(db), "pulling pages");
  EXPECT_EQ(ids, expected_ids()) << format(
      "pulling pages with next_page(), retrying page 2 once after its query failed, gave %zu "
      "rows; expected the %zu rows of the table, each once. Move the cursor only after the page "
      "was read.",
      ids.size(), rows());
}

}  // namespace
