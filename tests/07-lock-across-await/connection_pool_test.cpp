// Chapter 07's test, built against the pitfall and against the fix.
//
// Six queries share a pool of two connections on one event-loop thread. The
// fix runs them two at a time on two reused connections. The pitfall's pool
// keeps its std::mutex locked while the first caller awaits a connection; the
// second caller then blocks the only thread in lock(), and the watchdog ends
// the test with a deadlock report naming the stuck handler.
#include "connection_pool.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <optional>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "workbook/run.hpp"
#include "workbook/stall.hpp"
#include "workbook/watchdog.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr int kQueries = 6;
constexpr std::size_t kPoolSize = 2;
constexpr auto kConnectLatency = 5ms;
constexpr auto kQueryLatency = 10ms;

class LockAcrossAwait : public testing::Test {
 protected:
  LockAcrossAwait() {
    workbook::run_to_completion(ctx, ch07::add_notes(db, kQueries));
    // Only now limit the connections: the pool must make do with its own.
    db.set_max_connections(kPoolSize);
    db.set_latency(mockdb::OpKind::query, mockdb::Latency::fixed(kQueryLatency));
  }

  // Starts query i (for note i) as a coroutine of its own, labelled for reports.
  void start_query(ch07::ConnectionPool& pool, int i) {
    auto ex = stalls.wrap(ctx.get_executor(), "query for note " + std::to_string(i));
    mockdb::Params params{i};
    asio::co_spawn(ex, ch07::run_query(pool, ch07::kNoteQuery, std::move(params)),
                   [this, i](const std::exception_ptr& error, mockdb::Rows rows) {
                     if (error) std::rethrow_exception(error);
                     results[i - 1] = std::move(rows);
                   });
  }

  // Every query returned its own note.
  void expect_every_note_found() const {
    for (int i = 1; i <= kQueries; ++i) {
      ASSERT_TRUE(results[i - 1]) << "the query for note " << i << " never completed";
      ASSERT_EQ(results[i - 1]->size(), 1u) << "the query for note " << i;
      EXPECT_EQ(std::string(results[i - 1]->front().at("title").as_string()),
                "note " + std::to_string(i));
    }
  }

  workbook::VirtualTime time;
  asio::io_context ctx;
  mockdb::MockDatabase db{
      mockdb::MockConfig{.connect_latency = mockdb::Latency::fixed(kConnectLatency)}};
  workbook::StallDetector stalls{15ms};
  std::vector<std::optional<mockdb::Rows>> results{kQueries};
};

TEST_F(LockAcrossAwait, ConcurrentQueriesShareThePoolWithoutBlocking) {
  workbook::Watchdog watchdog(1000ms, "6 concurrent queries through a pool of 2 connections",
                              &stalls);
  ch07::ConnectionPool pool(ctx.get_executor(), db, kPoolSize);
  const auto start = workbook::Clock::now();
  for (int i = 1; i <= kQueries; ++i) start_query(pool, i);
  workbook::run_until_idle(ctx);
  const auto elapsed = workbook::Clock::now() - start;

  expect_every_note_found();
  const mockdb::Stats stats = db.stats();
  // The pool's whole point: as many queries in flight as it has connections.
  EXPECT_EQ(stats[mockdb::OpKind::query].max_in_flight, kPoolSize)
      << "at most " << stats[mockdb::OpKind::query].max_in_flight
      << " queries were in flight at once; expected the pool's " << kPoolSize
      << " connections to be used together";
  EXPECT_LE(stats.max_open_connections, kPoolSize)
      << stats.max_open_connections << " connections were open at once; the pool may open "
      << kPoolSize;
  EXPECT_EQ(stats[mockdb::OpKind::connect].started, kPoolSize)
      << "the pool opened " << stats[mockdb::OpKind::connect].started
      << " connections for 6 queries; expected it to open " << kPoolSize << " and reuse them";
  // Two connects side by side, then three waves of two queries.
  const auto expected = kConnectLatency + 3 * kQueryLatency;
  EXPECT_EQ(elapsed, expected) << "6 queries through 2 connections took "
                               << workbook::to_ms(elapsed)
                               << " ms of virtual time; expected one connect and three waves "
                                  "of queries: "
                               << workbook::to_ms(expected) << " ms";
}

TEST_F(LockAcrossAwait, SequentialQueriesReuseOneConnection) {
  workbook::Watchdog watchdog(1000ms, "6 queries one after another", &stalls);
  ch07::ConnectionPool pool(ctx.get_executor(), db, kPoolSize);
  auto one_after_another = [&]() -> asio::awaitable<void> {
    for (int i = 1; i <= kQueries; ++i) {
      mockdb::Params params{i};
      results[i - 1] = co_await ch07::run_query(pool, ch07::kNoteQuery, std::move(params));
    }
  };
  workbook::run_to_completion(ctx, one_after_another(), "6 sequential queries");

  expect_every_note_found();
  EXPECT_EQ(db.stats()[mockdb::OpKind::connect].started, 1u)
      << "one caller at a time needs one connection, reused";
}

TEST_F(LockAcrossAwait, ConnectFailureLeavesThePoolUsable) {
  workbook::Watchdog watchdog(1000ms, "a query after a failed connect", &stalls);
  ch07::ConnectionPool pool(ctx.get_executor(), db, kPoolSize);
  db.fail_next(kPoolSize, mockdb::Errc::unavailable, mockdb::OpKind::connect);
  for (std::size_t i = 0; i < kPoolSize; ++i) {
    EXPECT_THROW(workbook::run_to_completion(ctx, ch07::run_query(pool, ch07::kNoteQuery, {1})),
                 boost::system::system_error);
  }
  // Every slot must have come back: this query must still find one.
  const auto rows = workbook::run_to_completion(ctx, ch07::run_query(pool, ch07::kNoteQuery, {1}));
  EXPECT_EQ(rows.size(), 1u);
}

// Not the pool under test: the provided reference that avoids the deadlock
// by holding an asynchronous lock across the query, and pays for it.
TEST_F(LockAcrossAwait, SerialisedPoolRunsOneQueryAtATime) {
  workbook::Watchdog watchdog(1000ms, "6 queries through the serialised pool", &stalls);
  ch07::SerialisedPool pool(ctx.get_executor(), db);
  const auto start = workbook::Clock::now();
  for (int i = 1; i <= kQueries; ++i) {
    mockdb::Params params{i};
    asio::co_spawn(ctx, pool.query(ch07::kNoteQuery, std::move(params)),
                   [this, i](const std::exception_ptr& error, mockdb::Rows rows) {
                     if (error) std::rethrow_exception(error);
                     results[i - 1] = std::move(rows);
                   });
  }
  workbook::run_until_idle(ctx);
  expect_every_note_found();
  EXPECT_EQ(db.stats()[mockdb::OpKind::query].max_in_flight, 1u);
  EXPECT_EQ(workbook::Clock::now() - start, kConnectLatency + kQueries * kQueryLatency);
}

}  // namespace
