// Chapter 09's test, built against the pitfall and against the fix.
//
// An events table of 1,000 ids with a few deleted (ids have gaps, as in any
// table that has seen deletes), read in pages of 50 at 10 ms a query, in
// virtual time. The rows the export holds are counted by ResidentRow, which
// every Event carries privately and which counts every Event object, moved-from
// shells included, so the count does not depend on the code under test (rows
// kept in another form, such as mockdb::Rows, it cannot see); the budget is a
// page and the one Event being handed over. RecordingDatabase sees every query:
// its SQL text, read with the mock's own parser (ORDER BY id, LIMIT bound, no
// OFFSET, no number written in, the same text each page), how many ran (a bound
// turns a stream that never ends into a message), and the largest page. An
// empty table and a table of whole pages run in a child process (a death test),
// so that a read past an empty page crashes there and is reported here. Two
// exports run at once, so that state shared between them shows, and must
// overlap in virtual time. Pages of 50, 64 and 300 (above a cap of 256) are
// read. A page fails on page 1 and on page 3, and a sink throws: both errors
// must reach the caller.
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
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/core/demangle.hpp>
#include <boost/system/system_error.hpp>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "mockdb/query.hpp"
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
// A page size above what a "protective" cap might clamp to (256), that still
// takes several pages over the table.
constexpr std::size_t kLargePage = 300;
// Deleted ids: inside the first page (so a page's last id is not its row
// count), on a page boundary, and the last id of the table.
const std::vector<Id> kGaps = {7, 50, 51, 333, 600, 999};

// Thrown by RecordingDatabase when an export runs more queries than a
// correct one could: a stream that never ends becomes a message, not a hang.
struct TooManyQueries : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What an export's queries were, wherever they ran (on the database or on a
// connection of its own): counted, their SQL text kept, the largest result
// noted. It makes the `fail_at`-th query (1-based; 0: none) fail with a
// connection reset, as a page read over a flaky network would, and throws
// TooManyQueries at query `limit` + 1 (0: no limit).
struct QueryLog {
  mockdb::MockDatabase& db;
  std::uint64_t fail_at = 0;
  std::uint64_t limit = 0;
  std::uint64_t queries = 0;
  std::vector<std::string> sql;
  std::size_t largest_result = 0;

  void before_query(const std::string& text) {
    ++queries;
    if (limit != 0 && queries > limit) {
      throw TooManyQueries(format("query %llu of an export that needs at most %llu",
                                  static_cast<unsigned long long>(queries),
                                  static_cast<unsigned long long>(limit)));
    }
    sql.push_back(text);
    if (queries == fail_at) db.fail_next(1, mockdb::Errc::connection_reset, OpKind::query);
  }

  asio::awaitable<mockdb::Rows> query(mockdb::Queryable& inner, std::string text,
                                      mockdb::Params params) {
    before_query(text);
    mockdb::Rows rows = co_await inner.query(std::move(text), std::move(params));
    largest_result = std::max(largest_result, rows.size());
    co_return rows;
  }
};

// A connection of the mock's, with its queries recorded by QueryLog.
class RecordingConnection final : public mockdb::Connection {
 public:
  RecordingConnection(std::unique_ptr<mockdb::Connection> inner, QueryLog& log)
      : inner_(std::move(inner)), log_(log) {}

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
    return log_.query(*inner_, std::move(sql), std::move(params));
  }
  asio::awaitable<void> close() override { return inner_->close(); }

 private:
  std::unique_ptr<mockdb::Connection> inner_;
  QueryLog& log_;
};

// A database that passes everything to the mock, except that its queries (and
// those of its connections) go through QueryLog.
class RecordingDatabase final : public mockdb::DatabaseService {
 public:
  explicit RecordingDatabase(mockdb::MockDatabase& inner, std::uint64_t fail_at = 0,
                             std::uint64_t limit = 0)
      : inner_(inner), log_{inner, fail_at, limit, 0, {}, 0} {}

  const QueryLog& log() const { return log_; }

  asio::awaitable<std::unique_ptr<mockdb::Connection>> connect() override {
    std::unique_ptr<mockdb::Connection> connection = co_await inner_.connect();
    co_return std::make_unique<RecordingConnection>(std::move(connection), log_);
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
    return log_.query(inner_, std::move(sql), std::move(params));
  }

 private:
  mockdb::MockDatabase& inner_;
  QueryLog log_;
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

  // Runs an export whose `failing`-th page query fails, and checks that the
  // error reaches the caller after the rows of the pages before it.
  void check_error_in_page(std::uint64_t failing) {
    RecordingDatabase flaky(db, failing);
    Seen seen;
    std::optional<boost::system::error_code> error;
    try {
      run_export(flaky, seen);
    } catch (const boost::system::system_error& e) {
      error = e.code();
    } catch (const std::exception& e) {
      // Wrapped with std::throw_with_nested, the database's error is still there.
      try {
        std::rethrow_if_nested(e);
      } catch (const boost::system::system_error& inner) {
        error = inner.code();
      } catch (...) {  // NOLINT(bugprone-empty-catch): reported just below
      }
      ASSERT_TRUE(error.has_value()) << format(
          "page %llu's query failed with a mockdb::DatabaseError (connection reset), and "
          "for_each_event() threw a %s instead (\"%s\") that does not carry it: the caller "
          "cannot tell what the database said. Expected the database's error to reach the "
          "caller as mockdb::DatabaseError: let it propagate, or wrap it with "
          "std::throw_with_nested.",
          static_cast<unsigned long long>(failing), boost::core::demangle(typeid(e).name()).c_str(),
          e.what());
    }
    const std::uint64_t queries = flaky.log().queries;
    const std::size_t before = static_cast<std::size_t>(failing - 1) * kPage;
    if (!error && queries < failing) {
      FAIL() << format(
          "the export ran %llu query(ies) for %zu rows in pages of %zu, so query %llu, which was "
          "set to fail, never ran; expected one query per page of %zu. Read the table a page at "
          "a time: next_page() asks for page_size rows.",
          static_cast<unsigned long long>(queries), seen.ids.size(), kPage,
          static_cast<unsigned long long>(failing), kPage);
    }
    ASSERT_TRUE(error.has_value()) << format(
        "page %llu's query failed, yet for_each_event() returned normally after handing %zu "
        "rows to the sink: the error was swallowed, and the consumer cannot tell a failed export "
        "from a finished one%s. Expected the DatabaseError to reach the caller, whatever page "
        "failed.",
        static_cast<unsigned long long>(failing), seen.ids.size(),
        seen.ids.empty() ? " (nor from an empty table: an error before the first row is not an "
                           "empty table)"
                         : "");
    EXPECT_EQ(*error, mockdb::Errc::connection_reset)
        << format("for_each_event() threw \"%s\"; expected the failed page's own error.",
                  error->message().c_str());
    const char* why = "";
    if (seen.ids.empty() && before > 0) {
      why =
          "No row reached the sink before the failure: the rows read before it were held back. "
          "Hand each page over as it arrives, so an error late in the table does not cost the "
          "consumer the rows before it.";
    } else if (seen.ids.size() < before) {
      why =
          "Fewer rows than those pages hold: the pages before the failure did not hold the rows "
          "they should (check each page's LIMIT and where it starts).";
    } else if (seen.ids.size() > before) {
      why =
          "More rows than those pages hold: were rows handed over twice, or rows of the failed "
          "page handed over?";
    }
    EXPECT_EQ(seen.ids.size(), before) << format(
        "page %llu's query (query %llu of the %llu run) failed after the sink was handed %zu "
        "rows; expected the %zu rows of the pages before it first. %s",
        static_cast<unsigned long long>(failing), static_cast<unsigned long long>(failing),
        static_cast<unsigned long long>(queries), seen.ids.size(), before, why);
  }

  workbook::VirtualTime time;
  asio::io_context ctx;
  mockdb::MockDatabase db;
};

TEST_F(StreamingResults, HoldsAtMostOnePageOfRows) {
  RecordingDatabase recorded(db);
  Seen seen;
  run_export(recorded, seen);
  const std::size_t peak = ch09::ResidentRow::peak();
  const std::size_t largest = recorded.log().largest_result;
  // One page, and one Event more: the row being handed over, if it is moved
  // out of the page (its moved-from shell, still an Event, stays in the page).
  // Not when a query returned more than a page: then that one is a row too
  // many made an Event.
  const std::size_t budget = largest > kPage ? kPage : kPage + 1;
  std::string why;
  if (peak >= rows()) {
    why = " (the whole table: every row was held at once)";
  } else if (peak > kPage && largest > kPage && peak <= largest) {
    why = format(
        " (one query returned %zu rows, more than page_size %zu, and they were all made Events: "
        "ask for page_size rows, or drop the extra look-ahead row before making Events)",
        largest, kPage);
  } else if (peak > budget && peak - kPage < kPage / 2) {
    why = format(
        " (%zu Events more than one page: copies of Events, or moved-from shells, were alive "
        "while a whole page was: a kept copy of a row, a look-ahead Event, or a page vector "
        "that grew without reserve() and moved its Events, whose old shells live until the "
        "move is done)",
        peak - kPage);
  } else if (peak > budget) {
    why = format(" (%.1f pages: a page was still held while another was read)",
                 static_cast<double>(peak) / static_cast<double>(kPage));
  }
  EXPECT_LE(peak, budget) << format(
      "peak rows resident %zu, budget %zu: for_each_event() over %zu rows in pages of %zu held "
      "%zu Events at once%s. Expected at most one page (and the Event being handed over): hand "
      "each page's rows to the sink as the page arrives, and let the page go before reading the "
      "next.",
      peak, budget, rows(), kPage, peak, why.c_str());
}

TEST_F(StreamingResults, HandsOverEveryRowOnceInIdOrder) {
  for (const std::size_t page : {kPage, kOtherPage, kLargePage}) {
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
          "table does, is the page size written into the query instead of taken from "
          "page_size, or capped below page_size while a page shorter than page_size still ends "
          "the stream?",
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
        "per page, and one that finds the end). Is the page size passed as LIMIT, and does each "
        "page take one query (no count or probe query beside it)?",
        static_cast<unsigned long long>(queries), rows(), page,
        static_cast<unsigned long long>(most));
  }
}

TEST_F(StreamingResults, FirstRowArrivesAfterOnePage) {
  Seen seen;
  run_export(db, seen);
  ASSERT_TRUE(seen.first.has_value()) << "the sink was never called; expected every row.";
  const std::uint64_t all_pages = rows() / kPage + 1;
  const char* why =
      seen.queries_at_first >= all_pages
          ? "The consumer waited for the whole table to be read: hand each page over as it "
            "arrives."
      : seen.queries_at_first > 1
          ? "More than one query ran before the first row was handed over: read the first page "
            "with one query and hand its rows over before any other query (no count, probe or "
            "read-ahead query first)."
          : "One query ran, yet the rows waited longer than it took: hand the page's rows over "
            "as soon as the query returns.";
  EXPECT_LE(*seen.first, kLatency) << format(
      "the first row reached the sink after %.0f ms and %llu queries (the table takes %llu pages "
      "of %zu); expected it after the first page, %.0f ms and 1 query. %s",
      workbook::to_ms(*seen.first), static_cast<unsigned long long>(seen.queries_at_first),
      static_cast<unsigned long long>(all_pages), kPage,
      workbook::to_ms(workbook::Clock::duration(kLatency)), why);
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
  // The first page's query fails (nothing was handed over yet: still an
  // error, not an empty table), and in another export the third page's.
  for (const std::uint64_t failing : {std::uint64_t{1}, std::uint64_t{3}}) {
    SCOPED_TRACE(format("the query of page %llu fails", static_cast<unsigned long long>(failing)));
    check_error_in_page(failing);
  }
}

TEST_F(StreamingResults, AnExceptionFromTheSinkPropagates) {
  // The auditor's sink fails at row 10 (page 1): the export must not take
  // that for "stop" nor read on.
  struct SinkFailed : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  constexpr std::size_t kFailingRow = 10;
  RecordingDatabase recorded(db, 0, 50);
  std::size_t handed = 0;
  ch09::EventSink sink = [&handed](const ch09::Event&) {
    if (++handed == kFailingRow) throw SinkFailed("the auditor's disk is full");
    return true;
  };
  std::string what = "returned normally";
  {
    workbook::Watchdog watchdog(5s, "for_each_event() with a sink that throws");
    try {
      workbook::run_to_completion(ctx, ch09::for_each_event(recorded, kPage, std::move(sink)),
                                  "for_each_event()");
    } catch (const SinkFailed&) {
      what.clear();
    } catch (const std::exception& e) {
      what = format("threw %s (\"%s\")", boost::core::demangle(typeid(e).name()).c_str(), e.what());
    }
  }
  EXPECT_TRUE(what.empty()) << format(
      "the sink threw an exception at row %zu, and for_each_event() %s after handing over %zu "
      "rows; expected the sink's exception to propagate to the caller as it is, as "
      "event_export.hpp says: a failing consumer is not a consumer that said stop, and the "
      "caller must learn that the auditor failed. Do not catch the sink's exceptions.",
      kFailingRow, what.c_str(), handed);
  EXPECT_EQ(recorded.log().queries, 1u) << format(
      "the sink threw at row %zu (page 1), and %llu page queries ran; expected 1: no page is "
      "read after the sink failed.",
      kFailingRow, static_cast<unsigned long long>(recorded.log().queries));
}

// The first few of `ids`, for a message.
std::string first_ids(const std::vector<Id>& ids) {
  std::string text;
  for (std::size_t i = 0; i < ids.size() && i < 5; ++i) {
    text += format("%s%lld", i == 0 ? "" : ", ", static_cast<long long>(ids[i]));
  }
  return ids.size() > 5 ? text + ", ..." : text;
}

// What a consumer that pulls pages itself got: the ids, and the cursor's
// count of rows handed out at the end.
struct Pulled {
  std::vector<Id> ids;
  std::uint64_t rows_read = 0;
};

// A consumer that pulls pages itself, from a database whose second query
// fails once, and asks again after the failure.
asio::awaitable<Pulled> pull_retrying_once(mockdb::MockDatabase& db) {
  Pulled pulled;
  ch09::Cursor cursor;
  RecordingDatabase flaky(db, 2);
  int failures = 0;
  while (!cursor.done) {
    try {
      const ch09::Page page = co_await ch09::next_page(flaky, cursor, kPage);
      for (const ch09::Event& event : page) pulled.ids.push_back(event.id);
    } catch (const boost::system::system_error&) {
      if (++failures > 1) throw;
    }
  }
  pulled.rows_read = cursor.rows_read;
  co_return pulled;
}

TEST_F(StreamingResults, NextPageCanBeRetriedAfterAnError) {
  // Page 2 fails once; asking again must give page 2, not page 3 or page 1.
  workbook::Watchdog watchdog(5s, "pulling pages with next_page()");
  const Pulled pulled = workbook::run_to_completion(ctx, pull_retrying_once(db), "pulling pages");
  const std::vector<Id>& ids = pulled.ids;
  std::map<Id, int> times;
  for (const Id id : ids) ++times[id];
  const auto twice =
      std::find_if(times.begin(), times.end(), [](const auto& entry) { return entry.second > 1; });
  std::string why;
  if (twice != times.end()) {
    why = format(
        "Row %lld was handed out %d times: does a page start at the row the last page ended with "
        "(id >= $1 instead of id > $1), or was the cursor moved before the failed page was read?",
        static_cast<long long>(twice->first), twice->second);
  } else if (ids.size() < rows()) {
    why =
        "Rows are missing: the failed page was skipped. Move the cursor only after the page "
        "was read.";
  }
  EXPECT_EQ(ids, expected_ids()) << format(
      "pulling pages with next_page(), retrying page 2 once after its query failed, gave %zu "
      "rows (first ids %s); expected the %zu rows of the table, each once, in id order. %s",
      ids.size(), first_ids(ids).c_str(), rows(), why.c_str());
  EXPECT_EQ(pulled.rows_read, ids.size()) << format(
      "after pulling every page with next_page(), cursor.rows_read is %llu, while %zu rows were "
      "handed out; expected %zu: event_export.hpp says rows_read counts the rows handed out. "
      "Add each page's size to it when the page is read (not for a failed page).",
      static_cast<unsigned long long>(pulled.rows_read), ids.size(), ids.size());
}

// The export of a table with `count` ids (deleting `gaps`) in pages of
// `page`, run in a process of its own by EndsOnAnEmptyPage, in its virtual time. Writes what went
// wrong to stderr and returns false, or returns true.
bool export_ends(int count, const std::vector<Id>& gaps, std::size_t page, const char* table) {
  asio::io_context ctx;  // on the fixture's virtual time
  mockdb::MockDatabase db;
  workbook::run_to_completion(ctx, ch09::add_sample_events(db, count, gaps), "adding events");
  const std::size_t rows = static_cast<std::size_t>(count) - gaps.size();
  const std::uint64_t pages = (rows + page - 1) / page;
  // One query per page, one that finds the end, and one to spare.
  const std::uint64_t needed = pages + 1;
  const std::uint64_t bound = needed + 1;
  RecordingDatabase recorded(db, 0, bound);
  std::size_t handed = 0;
  ch09::EventSink sink = [&handed](const ch09::Event&) {
    ++handed;
    return true;
  };
  workbook::Watchdog watchdog(5s, format("for_each_event() over %s", table));
  try {
    workbook::run_to_completion(ctx, ch09::for_each_event(recorded, page, std::move(sink)),
                                "for_each_event()");
  } catch (const TooManyQueries&) {
    std::fprintf(stderr,
                 "for_each_event() over %s (%zu rows, pages of %zu) ran more than %llu queries "
                 "and had not ended (%zu rows handed over): the same empty page was asked for "
                 "again and again. Expected at most %llu (one per page, and one that finds the "
                 "end). An empty page is the end of the "
                 "table too: mark the cursor done when a page has fewer than page_size rows, "
                 "zero included.\n",
                 table, rows, page, static_cast<unsigned long long>(bound), handed,
                 static_cast<unsigned long long>(needed));
    return false;
  }
  if (handed != rows) {
    std::fprintf(stderr, "for_each_event() over %s handed %zu rows to the sink; expected %zu.\n",
                 table, handed, rows);
    return false;
  }
  return true;
}

TEST_F(StreamingResults, EndsOnAnEmptyPage) {
  // In a process of its own: reading past an empty page (page.back() on an
  // empty vector) is undefined behaviour, and a crash must become a message.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto check = [] {
    const bool empty = export_ends(1, {1}, kPage, "an empty table");
    const bool exact = export_ends(100, {}, kPage, "a table of exactly 2 pages");
    std::fflush(stderr);
    std::_Exit(empty && exact ? 0 : 1);
  };
  EXPECT_EXIT(check(), testing::ExitedWithCode(0), "") << format(
      "for_each_event() over an empty table, or over a table of exactly 2 pages of %zu, did not "
      "end cleanly: the last page it reads is empty. The [  DEATH   ] lines above say what "
      "happened; if it was killed by a signal (\"Terminated by signal\"), it read past an empty "
      "page, e.g. page.back() on an empty page, which is undefined behaviour: check "
      "page.empty() first.",
      kPage);
}

TEST_F(StreamingResults, TwoExportsAtOnceEachGetEveryRow) {
  // Two auditors export at once on one loop: their pages interleave.
  Seen first;
  Seen second;
  ch09::EventSink to_first = [&first](const ch09::Event& event) {
    first.ids.push_back(event.id);
    return true;
  };
  ch09::EventSink to_second = [&second](const ch09::Event& event) {
    second.ids.push_back(event.id);
    return true;
  };
  asio::awaitable<std::uint64_t> one = ch09::for_each_event(db, kPage, std::move(to_first));
  asio::awaitable<std::uint64_t> other = ch09::for_each_event(db, kOtherPage, std::move(to_second));
  const auto both = [](asio::awaitable<std::uint64_t> a,
                       asio::awaitable<std::uint64_t> b) -> asio::awaitable<void> {
    using asio::experimental::awaitable_operators::operator&&;
    co_await (std::move(a) && std::move(b));
  };
  workbook::Watchdog watchdog(5s, "two for_each_event() at once");
  const auto start = workbook::Clock::now();
  workbook::run_to_completion(ctx, both(std::move(one), std::move(other)), "two exports");
  const auto took = workbook::Clock::now() - start;
  // One query per page and one that finds the end (or the short last page).
  const auto alone = [](std::size_t page) {
    return static_cast<std::int64_t>(rows() / page + 1) * workbook::Clock::duration(kLatency);
  };
  const workbook::Clock::duration longest = std::max(alone(kPage), alone(kOtherPage));
  const workbook::Clock::duration in_turn = alone(kPage) + alone(kOtherPage);
  EXPECT_LE(took, longest + 2 * workbook::Clock::duration(kLatency)) << format(
      "two exports at once (pages of %zu and of %zu) took %.0f ms; the longer alone takes %.0f "
      "ms, the two one after the other %.0f ms. Expected them to overlap, done in about %.0f ms: "
      "they took turns. Does an export wait for another (a static flag, a shared lock held for "
      "the whole export)? Exports need no shared state: let them run at once.",
      kPage, kOtherPage, workbook::to_ms(took), workbook::to_ms(longest), workbook::to_ms(in_turn),
      workbook::to_ms(longest));
  const std::vector<Id> expected = expected_ids();
  for (const Seen* seen : {&first, &second}) {
    EXPECT_EQ(seen->ids, expected) << format(
        "two exports ran at once (pages of %zu and of %zu); export %d handed %zu rows to its "
        "sink (first ids %s); expected each export to hand over all %zu rows, each once, in id "
        "order. The exports share state: is the cursor static or global? Each export needs a "
        "cursor of its own, a local variable of for_each_event().",
        kPage, kOtherPage, seen == &first ? 1 : 2, seen->ids.size(), first_ids(seen->ids).c_str(),
        expected.size());
  }
}

// True if `sql` has a number written into it, not a $n parameter.
bool has_literal_number(const std::string& sql) {
  for (std::size_t i = 0; i < sql.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(sql[i])) == 0) continue;
    std::size_t start = i;
    while (start > 0 && std::isdigit(static_cast<unsigned char>(sql[start - 1])) != 0) --start;
    if (start == 0 || sql[start - 1] != '$') return true;
  }
  return false;
}

TEST_F(StreamingResults, PagesBindParametersAndOrderById) {
  RecordingDatabase recorded(db);
  Seen seen;
  run_export(recorded, seen);
  const std::vector<std::string>& sql = recorded.log().sql;
  ASSERT_FALSE(sql.empty()) << "the export ran no query; expected one per page.";
  for (const std::string& text : sql) {
    std::string upper = text;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    ASSERT_NE(upper.find("ORDER BY"), std::string::npos) << format(
        "a page's query has no ORDER BY: \"%s\". The mock returns rows in id order anyway, a "
        "real database does not: without ORDER BY the LIMIT takes any rows after the last id, "
        "and pages skip and repeat rows. Expected ORDER BY id in every page's query.",
        text.c_str());
    mockdb::Query parsed;
    try {
      parsed = mockdb::parse_query(text);
    } catch (const mockdb::QueryError& e) {
      FAIL() << format("a page's query does not parse: \"%s\" (%s).", text.c_str(), e.what());
    }
    const bool by_id = !parsed.order_by.empty() && parsed.order_by[0].column == "id" &&
                       !parsed.order_by[0].descending;
    ASSERT_TRUE(by_id) << format(
        "a page's query does not sort by id ascending: \"%s\" (its ORDER BY clause, as the "
        "mock's parser reads it, has %zu key(s)%s). The mock returns rows in id order anyway, a "
        "real database does not: without ORDER BY id the LIMIT takes any rows after the last "
        "id, and pages skip and repeat rows. Expected ORDER BY id in every page's query (words "
        "inside a quoted name or a string are not a clause).",
        text.c_str(), parsed.order_by.size(),
        parsed.order_by.empty()
            ? ""
            : format(", the first \"%s\"", parsed.order_by[0].column.c_str()).c_str());
    ASSERT_FALSE(parsed.offset.has_value()) << format(
        "a page's query has OFFSET: \"%s\". The database walks and throws away every row before "
        "the offset, page after page. Expected keyset paging: WHERE id > $1 ORDER BY id LIMIT $2.",
        text.c_str());
    ASSERT_FALSE(has_literal_number(text)) << format(
        "a page's query has a number written into its SQL text: \"%s\". Expected the values as "
        "parameters ($1, $2 in the text, the values in mockdb::Params): a value formatted into "
        "SQL is how SQL injection starts, and each page becomes a new statement to parse.",
        text.c_str());
    ASSERT_TRUE(parsed.limit.has_value() && parsed.limit->is_parameter) << format(
        "a page's query has %s: \"%s\". Expected LIMIT $n, with page_size bound as a parameter, "
        "so that each page holds at most page_size rows.",
        parsed.limit ? "its LIMIT written into the SQL text" : "no LIMIT", text.c_str());
  }
  const auto differing = static_cast<std::size_t>(
      std::count_if(sql.begin(), sql.end(), [&sql](const std::string& t) { return t != sql[0]; }));
  EXPECT_EQ(differing, 0u) << format(
      "%zu of the %zu page queries had SQL text other than the first's (\"%s\"); expected the "
      "same text for every page, with the values that change bound as parameters ($1, $2), "
      "never formatted into the SQL (SQL injection).",
      differing, sql.size(), sql[0].c_str());
}

TEST_F(StreamingResults, PageSizeZeroIsRejected) {
  // Pages of nothing would never reach the end: the header says to refuse.
  RecordingDatabase recorded(db, 0, 3);
  Seen seen;
  std::string what = "returned normally";
  try {
    run_export(recorded, seen, 0, 0);
  } catch (const std::invalid_argument&) {
    what.clear();
  } catch (const TooManyQueries&) {
    what = "ran query after query without reaching the end";
  } catch (const std::exception& e) {
    what = format("threw %s (\"%s\")", boost::core::demangle(typeid(e).name()).c_str(), e.what());
  }
  EXPECT_TRUE(what.empty()) << format(
      "for_each_event() with page_size 0 %s (%llu queries, %zu rows handed over); expected it to "
      "throw std::invalid_argument before reading, as event_export.hpp says: pages of 0 rows "
      "would never reach the end of the table.",
      what.c_str(), static_cast<unsigned long long>(recorded.log().queries), seen.ids.size());
}

}  // namespace
