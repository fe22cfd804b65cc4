// The mock database through its async interface: storage, queries, latency
// in virtual time, every fault kind, the connection limit, cancellation,
// instrumentation, and no lost writes on a multi-threaded io_context.
#include "mockdb/mock_database.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <set>
#include <thread>

#include "mockdb/query.hpp"
#include "workbook/run.hpp"
#include "workbook/timer.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using mockdb::Errc;
using mockdb::Latency;
using mockdb::MockDatabase;
using mockdb::OpKind;
using testing::HasSubstr;
using workbook::Clock;

namespace {

class MockDatabaseTest : public testing::Test {
 protected:
  template <typename T>
  T run(asio::awaitable<T> task) {
    return workbook::run_to_completion(ctx, std::move(task));
  }

  // The error an awaitable fails with (or a default code if it succeeds).
  template <typename T>
  boost::system::error_code error_of(asio::awaitable<T> task) {
    try {
      run(std::move(task));
    } catch (const boost::system::system_error& e) {
      return e.code();
    }
    return {};
  }

  // The same, awaited inside a coroutine that is already running.
  template <typename T>
  static asio::awaitable<boost::system::error_code> error_of_inside(asio::awaitable<T> task) {
    try {
      co_await std::move(task);
    } catch (const boost::system::system_error& e) {
      co_return e.code();
    }
    co_return boost::system::error_code{};
  }

  workbook::VirtualTime time;
  asio::io_context ctx;
  MockDatabase db;
};

// -------------------------------------------------------------- storage

TEST_F(MockDatabaseTest, CreateReadUpdateRemove) {
  const mockdb::Id id = run(db.create("notes", {{"title", "first"}, {"body", "hello"}}));
  EXPECT_EQ(id, 1);
  auto row = run(db.read("notes", id));
  ASSERT_TRUE(row);
  EXPECT_EQ(row->at("title"), "first");
  EXPECT_EQ(row->at("id"), 1);

  EXPECT_TRUE(run(db.update("notes", id, {{"title", "renamed"}})));
  row = run(db.read("notes", id));
  EXPECT_EQ(row->at("title"), "renamed");
  EXPECT_EQ(row->at("body"), "hello");

  EXPECT_TRUE(run(db.remove("notes", id)));
  EXPECT_FALSE(run(db.read("notes", id)));
  EXPECT_FALSE(run(db.update("notes", id, {{"title", "gone"}})));
  EXPECT_FALSE(run(db.remove("notes", id)));
}

TEST_F(MockDatabaseTest, QueryWithParameters) {
  for (int i = 1; i <= 5; ++i) run(db.create("notes", {{"rank", i}}));
  const auto rows =
      run(db.query("SELECT * FROM notes WHERE rank >= $1 ORDER BY rank DESC LIMIT 2", {3}));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].at("rank"), 5);
  EXPECT_EQ(rows[1].at("rank"), 4);
  EXPECT_GT(db.stats().rows_scanned, 0u);
}

TEST_F(MockDatabaseTest, MalformedQueryNamesPositionAndExpectation) {
  run(db.create("notes", {{"rank", 1}}));
  try {
    run(db.query("SELECT * FORM notes"));
    FAIL() << "expected a QueryError";
  } catch (const mockdb::QueryError& e) {
    EXPECT_EQ(e.code(), Errc::query_syntax);
    EXPECT_STREQ(e.what(), "syntax error at position 9: expected FROM, found 'FORM'");
  }
  EXPECT_EQ(db.stats()[OpKind::query].failed, 1u);
}

TEST_F(MockDatabaseTest, UnknownTableIsAnErrorNotAnEmptyResult) {
  EXPECT_EQ(error_of(db.query("SELECT * FROM nowhere")), Errc::no_such_table);
}

// -------------------------------------------------------------- latency

TEST_F(MockDatabaseTest, LatencyPassesInVirtualTime) {
  db.set_latency(Latency::fixed(10ms));
  db.set_latency(OpKind::connect, Latency::fixed(50ms));
  run(db.create("notes", {}));
  EXPECT_EQ(Clock::now(), Clock::time_point{} + 10ms);
  auto conn = run(db.connect());
  EXPECT_EQ(Clock::now(), Clock::time_point{} + 60ms);
  run(conn->read("notes", 1));
  EXPECT_EQ(Clock::now(), Clock::time_point{} + 70ms);
}

TEST_F(MockDatabaseTest, ConcurrentOperationsOverlap) {
  db.set_latency(Latency::fixed(10ms));
  run(db.read("notes", 1) && db.read("notes", 2) && db.read("notes", 3));
  EXPECT_EQ(Clock::now(), Clock::time_point{} + 10ms);
  EXPECT_EQ(db.stats()[OpKind::read].max_in_flight, 3u);
}

TEST(Latency, SeededDistributionsRepeat) {
  std::mt19937_64 a(7), b(7);
  const auto tail = Latency::long_tail(2ms, 50ms);
  std::vector<Clock::duration> draws;
  for (int i = 0; i < 1000; ++i) {
    draws.push_back(tail.sample(a));
    EXPECT_EQ(draws.back(), tail.sample(b));
  }
  std::sort(draws.begin(), draws.end());
  EXPECT_NEAR(workbook::to_ms(draws[500]), 2.0, 0.3);    // the median
  EXPECT_NEAR(workbook::to_ms(draws[990]), 50.0, 20.0);  // the 99th percentile
  const auto uniform = Latency::uniform(1ms, 3ms);
  for (int i = 0; i < 100; ++i) {
    const auto d = uniform.sample(a);
    EXPECT_GE(d, 1ms);
    EXPECT_LE(d, 3ms);
  }
}

// -------------------------------------------------------------- faults

TEST_F(MockDatabaseTest, FailNextFailsExactlyThatManyOfThatKind) {
  db.fail_next(2, Errc::connection_reset, OpKind::read);
  const mockdb::Id id = run(db.create("notes", {}));  // not a read: unaffected
  EXPECT_EQ(error_of(db.read("notes", id)), Errc::connection_reset);
  EXPECT_EQ(error_of(db.read("notes", id)), Errc::connection_reset);
  EXPECT_TRUE(run(db.read("notes", id)));
  EXPECT_EQ(db.stats()[OpKind::read].failed, 2u);
}

TEST_F(MockDatabaseTest, AnInjectedErrorOfAnotherCategoryKeepsItsCategory) {
  // What a real backend's code looks like to the mock: another category,
  // whose codes map onto the shared conditions.
  // Used only through the static instance below.
  // NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor)
  static const class OtherDb final : public boost::system::error_category {
   public:
    const char* name() const noexcept override { return "otherdb"; }
    std::string message(int) const override { return "the other database is starting up"; }
    boost::system::error_condition default_error_condition(int) const noexcept override {
      return mockdb::ErrorClass::unavailable;
    }
  } other;
  const boost::system::error_code starting_up(57, other);
  db.fail_next(1, starting_up);
  const auto error = error_of(db.read("notes", 1));
  EXPECT_EQ(error, starting_up);
  EXPECT_EQ(error, mockdb::ErrorClass::unavailable);
  EXPECT_TRUE(mockdb::is_transient(error));
}

TEST_F(MockDatabaseTest, ErrorsHaveReadableMessages) {
  db.fail_next(1, Errc::too_many_connections);
  try {
    run(db.read("notes", 1));
  } catch (const boost::system::system_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("too many connections"));
  }
  EXPECT_TRUE(mockdb::is_transient(Errc::connection_reset));
  EXPECT_FALSE(mockdb::is_transient(Errc::permission_denied));
}

TEST_F(MockDatabaseTest, RandomFailuresAreSeededAndRepeat) {
  auto failures = [this](std::uint64_t seed) {
    MockDatabase seeded(mockdb::MockConfig{.seed = seed});
    seeded.fail_randomly(0.3);
    std::string pattern;
    for (int i = 0; i < 40; ++i) {
      pattern += error_of(seeded.read("notes", 1)) ? 'x' : '.';
    }
    return pattern;
  };
  const std::string first = failures(11);
  EXPECT_EQ(first, failures(11));
  EXPECT_NE(first, failures(12));
  const auto failed = std::count(first.begin(), first.end(), 'x');
  EXPECT_GT(failed, 4);
  EXPECT_LT(failed, 24);
}

TEST_F(MockDatabaseTest, HangNeverCompletes) {
  db.hang_next(1, OpKind::read);
  try {
    run(db.read("notes", 1));
    FAIL() << "a hung read completed";
  } catch (const workbook::NeverCompleted& e) {
    EXPECT_THAT(e.what(), HasSubstr("read notes/1, pending since t=0.0 ms (mock database)"));
  }
}

TEST_F(MockDatabaseTest, HungOperationIsCancelledByATimeout) {
  db.hang_next(1);
  auto result = run(db.read("notes", 1) || workbook::sleep_for(100ms));
  EXPECT_EQ(result.index(), 1u);  // the timer won
  EXPECT_EQ(Clock::now(), Clock::time_point{} + 100ms);
  const auto stats = db.stats();
  EXPECT_EQ(stats[OpKind::read].cancelled, 1u);
  EXPECT_EQ(stats.total.in_flight, 0u);
  EXPECT_EQ(db.trace().spans().at(0).outcome, workbook::Outcome::cancelled);
}

TEST_F(MockDatabaseTest, OutageWindowFailsEverythingInside) {
  db.set_latency(Latency::fixed(10ms));
  db.outage(20ms, 30ms);  // from t=20 to t=50
  std::string timeline;
  for (int i = 0; i < 7; ++i) {
    timeline += error_of(db.read("notes", 1)) == Errc::unavailable ? 'x' : '.';
  }
  // Reads start at 0, 10, 20, ... ms; those starting in [20, 50) fail.
  EXPECT_EQ(timeline, "..xxx..");
}

TEST_F(MockDatabaseTest, ConnectionLimit) {
  db.set_max_connections(2);
  auto first = run(db.connect());
  auto second = run(db.connect());
  EXPECT_EQ(error_of(db.connect()), Errc::too_many_connections);
  // Direct operations need a connection of their own too.
  EXPECT_EQ(error_of(db.read("notes", 1)), Errc::too_many_connections);
  // But operations on an open connection do not.
  EXPECT_FALSE(run(first->read("notes", 1)));
  second.reset();
  EXPECT_NO_THROW(run(db.connect()));
  EXPECT_EQ(db.stats().max_open_connections, 2u);
}

TEST_F(MockDatabaseTest, TooManyConcurrentDirectOperations) {
  db.set_max_connections(3);
  db.set_latency(Latency::fixed(5ms));
  std::vector<boost::system::error_code> errors(5);
  auto read = [&](int i) -> asio::awaitable<void> {
    try {
      co_await db.read("notes", i);
    } catch (const boost::system::system_error& e) {
      errors[i] = e.code();
    }
  };
  run(read(0) && read(1) && read(2) && read(3) && read(4));
  EXPECT_EQ(std::count(errors.begin(), errors.end(), Errc::too_many_connections), 2);
  EXPECT_EQ(db.stats().max_open_connections, 3u);
}

// -------------------------------------------------------------- cancellation

// Starts a read bound to `cancel`; `result` receives the error it ends with.
void start_cancellable_read(asio::io_context& ctx, MockDatabase& db,
                            asio::cancellation_signal& cancel, boost::system::error_code& result) {
  asio::co_spawn(
      ctx, db.read("notes", 1),
      asio::bind_cancellation_slot(
          cancel.slot(), [&result](const std::exception_ptr& e, const std::optional<mockdb::Row>&) {
            try {
              if (e) std::rethrow_exception(e);
            } catch (const boost::system::system_error& error) {
              result = error.code();
            }
          }));
}

TEST_F(MockDatabaseTest, CancellationSignalAbortsAnOperation) {
  db.set_latency(Latency::fixed(1s));
  asio::cancellation_signal cancel;
  boost::system::error_code result;
  start_cancellable_read(ctx, db, cancel, result);
  ctx.poll();  // start it
  cancel.emit(asio::cancellation_type::terminal);
  workbook::run_until_idle(ctx);
  EXPECT_EQ(result, asio::error::operation_aborted);
  EXPECT_EQ(db.stats()[OpKind::read].cancelled, 1u);
  EXPECT_LT(Clock::now(), Clock::time_point{} + 1s);
}

TEST_F(MockDatabaseTest, CancellationAbortsAnInstantOperationToo) {
  asio::cancellation_signal cancel;
  boost::system::error_code result;
  start_cancellable_read(ctx, db, cancel, result);
  cancel.emit(asio::cancellation_type::terminal);  // before the loop ran anything
  workbook::run_until_idle(ctx);
  EXPECT_EQ(result, asio::error::operation_aborted);
  EXPECT_EQ(db.stats()[OpKind::read].cancelled, 1u);
}

// -------------------------------------------------------------- instrumentation

TEST_F(MockDatabaseTest, TraceRecordsEveryOperation) {
  db.set_latency(Latency::fixed(10ms));
  db.fail_next(1, Errc::connection_reset, OpKind::remove);
  const auto id = run(db.create("notes", {}));
  run(db.read("notes", id));
  error_of(db.remove("notes", id));
  const auto spans = db.trace().spans();
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(spans[0].operation, "create");
  EXPECT_EQ(spans[0].key, "notes");
  EXPECT_EQ(spans[1].operation, "read");
  EXPECT_EQ(spans[1].key, "notes/1");
  EXPECT_EQ(spans[1].start, Clock::time_point{} + 10ms);
  EXPECT_EQ(spans[1].end, Clock::time_point{} + 20ms);
  EXPECT_EQ(spans[1].outcome, workbook::Outcome::ok);
  EXPECT_EQ(spans[2].outcome, workbook::Outcome::failed);
  EXPECT_THAT(spans[2].detail, HasSubstr("connection reset"));
}

TEST_F(MockDatabaseTest, ResetStatsStartsTheCountersAgain) {
  run(db.create("notes", {}));
  auto conn = run(db.connect());
  db.reset_stats();
  auto stats = db.stats();
  EXPECT_EQ(stats.total.started, 0u);
  EXPECT_EQ(stats.open_connections, 1u);  // still open
  EXPECT_EQ(stats.max_open_connections, 1u);
  run(conn->read("notes", 1));
  EXPECT_EQ(db.stats()[OpKind::read].succeeded, 1u);
}

// -------------------------------------------------------------- a connection's rules

TEST_F(MockDatabaseTest, AConnectionRunsOneOperationAtATime) {
  db.set_latency(Latency::fixed(10ms));
  auto conn = run(db.connect());
  boost::system::error_code second;
  auto try_second = [&]() -> asio::awaitable<void> {
    try {
      co_await conn->read("notes", 2);
    } catch (const boost::system::system_error& e) {
      second = e.code();
    }
  };
  run(conn->read("notes", 1) && try_second());
  EXPECT_EQ(second, Errc::operation_in_progress);
  EXPECT_EQ(second, mockdb::ErrorClass::misuse);
  EXPECT_FALSE(mockdb::is_transient(second));
  // The refusal did not hurt the connection: the next operation is fine.
  EXPECT_NO_THROW(run(conn->read("notes", 1)));
}

TEST_F(MockDatabaseTest, AConnectionFailureBreaksTheConnection) {
  auto conn = run(db.connect());
  db.fail_next(1, Errc::connection_reset);
  EXPECT_EQ(error_of(conn->read("notes", 1)), Errc::connection_reset);
  EXPECT_EQ(error_of(conn->read("notes", 1)), Errc::connection_closed);
  // The database itself is fine: a direct operation borrows a sound connection.
  EXPECT_NO_THROW(run(db.read("notes", 1)));
}

TEST_F(MockDatabaseTest, AQueryErrorLeavesTheConnectionUsable) {
  auto conn = run(db.connect());
  EXPECT_EQ(error_of(conn->query("SELECT * FROM nowhere")), Errc::no_such_table);
  EXPECT_NO_THROW(run(conn->create("notes", {})));
}

TEST_F(MockDatabaseTest, ACancellationMidOperationBreaksTheConnection) {
  db.set_latency(Latency::fixed(50ms));
  auto conn = run(db.connect());
  const auto result = run(conn->read("notes", 1) || workbook::sleep_for(10ms));
  EXPECT_EQ(result.index(), 1u);
  EXPECT_EQ(error_of(conn->read("notes", 1)), Errc::connection_closed);
}

TEST_F(MockDatabaseTest, CloseEndsTheConnectionAndFreesItsPlace) {
  db.set_max_connections(1);
  auto conn = run(db.connect());
  EXPECT_EQ(db.stats().open_connections, 1u);
  run(conn->close());
  EXPECT_EQ(db.stats().open_connections, 0u);
  EXPECT_EQ(error_of(conn->read("notes", 1)), Errc::connection_closed);
  run(conn->close());              // twice is harmless
  auto again = run(db.connect());  // its place was free
  conn.reset();                    // destroying a closed connection frees nothing twice
  EXPECT_EQ(db.stats().open_connections, 1u);
}

TEST_F(MockDatabaseTest, AHangingDirectOperationHoldsItsConnection) {
  db.set_max_connections(1);
  db.hang_next(1, OpKind::read);
  const auto result = run(db.read("notes", 1) || [&]() -> asio::awaitable<void> {
    co_await workbook::sleep_for(1ms);
    EXPECT_EQ(db.stats().open_connections, 1u) << "the hanging read holds no connection";
    EXPECT_EQ(co_await error_of_inside(db.read("notes", 2)), Errc::too_many_connections);
  }());
  EXPECT_EQ(result.index(), 1u);
  EXPECT_EQ(db.stats().open_connections, 0u);
}

TEST_F(MockDatabaseTest, SpansNameTheConnectionTheyRanOn) {
  auto conn = run(db.connect());
  run(conn->read("notes", 1));
  run(db.read("notes", 1));
  run(db.read("notes", 1));
  const auto spans = db.trace().spans();
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_EQ(spans[1].links.connection, 1u);  // the connection opened above
  EXPECT_NE(spans[2].links.connection, 0u);  // borrowed from the pool...
  EXPECT_NE(spans[2].links.connection, 1u);
  EXPECT_EQ(spans[3].links.connection, spans[2].links.connection);  // ...and reused
}

// -------------------------------------------------------------- faults of real systems

TEST_F(MockDatabaseTest, AReplyLostAfterTheEffectMakesARetryWriteTwice) {
  db.fail_after_effect_next(1, Errc::connection_reset, OpKind::create);
  mockdb::Row note{{"text", "hello"}};
  EXPECT_EQ(error_of(db.create("notes", note)), Errc::connection_reset);
  EXPECT_EQ(db.count("notes"), 1u) << "the write happened although its reply was lost";
  run(db.create("notes", note));  // the naive retry
  EXPECT_EQ(db.count("notes"), 2u);
  try {
    db.fail_after_effect_next(1, Errc::connection_reset, OpKind::create);
    run(db.create("notes", note));
    FAIL() << "expected the lost reply";
  } catch (const mockdb::DatabaseError& e) {
    EXPECT_EQ(e.diagnostics().sqlstate, "08006");
    EXPECT_THAT(e.diagnostics().server_message, HasSubstr("after the statement took effect"));
  }
}

TEST_F(MockDatabaseTest, TheServerCanFinishWhatItsClientCancelled) {
  db.set_latency(Latency::fixed(50ms));
  const auto id = run(db.create("notes", {{"text", "draft"}}));
  db.set_cancel_effect(mockdb::CancelEffect::server_finishes);
  const auto result = run(db.update("notes", id, {{"text", "final"}}) || workbook::sleep_for(10ms));
  EXPECT_EQ(result.index(), 1u);  // the client gave up at t=60 ms
  EXPECT_EQ(db.peek("notes", id)->at("text"), "draft");
  workbook::run_until_idle(ctx);  // the server goes on
  EXPECT_EQ(db.peek("notes", id)->at("text"), "final");
  EXPECT_EQ(Clock::now(), Clock::time_point{} + 100ms);  // when it would have completed
}

TEST_F(MockDatabaseTest, ByDefaultACancelledWriteHasNoEffect) {
  db.set_latency(Latency::fixed(50ms));
  const auto result = run(db.create("notes", {}) || workbook::sleep_for(10ms));
  EXPECT_EQ(result.index(), 1u);
  workbook::run_until_idle(ctx);
  EXPECT_EQ(db.count("notes"), 0u);
  EXPECT_THAT(db.trace().spans().at(0).cancel_reason, HasSubstr("cancelled by its caller"));
}

// -------------------------------------------------------------- accounting

TEST_F(MockDatabaseTest, ADestroyedSuspendedOperationIsEndedAndLeaksNothing) {
  db.set_latency(Latency::fixed(1s));
  {
    asio::io_context doomed;
    asio::co_spawn(doomed, db.read("notes", 1), asio::detached);
    doomed.poll();  // starts the read, which now waits for its latency
    ASSERT_EQ(db.stats().total.in_flight, 1u);
    ASSERT_EQ(db.stats().open_connections, 1u);
  }  // the io_context, and the suspended frame with it, is destroyed
  const auto stats = db.stats();
  EXPECT_EQ(stats.total.in_flight, 0u);
  EXPECT_EQ(stats.total.cancelled, 1u);
  EXPECT_EQ(stats.open_connections, 0u);
  EXPECT_TRUE(db.trace().pending().empty());
  EXPECT_THAT(workbook::Trace::describe_all_pending(), HasSubstr("none"));
  EXPECT_THAT(db.trace().spans().at(0).cancel_reason, HasSubstr("abandoned"));
}

TEST_F(MockDatabaseTest, ResetStatsResetsRowsScannedToo) {
  run(db.create("notes", {{"n", 1}}));
  run(db.query("SELECT * FROM notes"));
  EXPECT_GT(db.stats().rows_scanned, 0u);
  db.reset_stats();
  EXPECT_EQ(db.stats().rows_scanned, 0u);
  run(db.query("SELECT * FROM notes"));
  EXPECT_EQ(db.stats().rows_scanned, 1u);
}

TEST_F(MockDatabaseTest, TheTraceIsBounded) {
  db.trace().set_capacity(3);
  for (int i = 0; i < 5; ++i) run(db.read("notes", i));
  const auto spans = db.trace().spans();
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(spans.front().key, "notes/2");  // the oldest two were forgotten
  EXPECT_EQ(db.trace().dropped(), 2u);
}

TEST(Errors, CodesBelongToClassesThatEveryBackendShares) {
  using mockdb::ErrorClass;
  EXPECT_EQ(mockdb::make_error_code(Errc::connection_reset), ErrorClass::connection_failure);
  EXPECT_EQ(mockdb::make_error_code(Errc::connection_closed), ErrorClass::connection_failure);
  EXPECT_EQ(mockdb::make_error_code(Errc::unavailable), ErrorClass::unavailable);
  EXPECT_EQ(mockdb::make_error_code(Errc::query_syntax), ErrorClass::syntax_error);
  EXPECT_EQ(mockdb::make_error_code(Errc::no_such_table), ErrorClass::undefined_object);
  EXPECT_EQ(mockdb::make_error_code(Errc::permission_denied), ErrorClass::insufficient_privilege);
  EXPECT_TRUE(mockdb::is_transient(Errc::too_many_connections));
  EXPECT_TRUE(mockdb::is_transient(Errc::connection_reset));
  EXPECT_FALSE(mockdb::is_transient(Errc::permission_denied));
  EXPECT_FALSE(mockdb::is_transient(Errc::query_syntax));
  EXPECT_STREQ(mockdb::sqlstate(Errc::query_syntax), "42601");
}

TEST(Errors, ATimeoutIsATypedTransientError) {
  const auto ec = mockdb::make_error_code(Errc::timed_out);
  EXPECT_EQ(ec, mockdb::ErrorClass::timed_out);
  EXPECT_NE(ec, mockdb::ErrorClass::connection_failure);
  EXPECT_TRUE(mockdb::is_transient(ec));
  EXPECT_STREQ(mockdb::sqlstate(Errc::timed_out), "57014");
  try {
    mockdb::throw_database_error(Errc::timed_out, "reading note 7 took longer than 50 ms");
    FAIL() << "throw_database_error returned";
  } catch (const mockdb::DatabaseError& e) {
    EXPECT_EQ(e.code(), mockdb::ErrorClass::timed_out);
    EXPECT_NE(std::string(e.what()).find("reading note 7 took longer than 50 ms: timed out"),
              std::string::npos)
        << e.what();
  }
}

TEST(Latency, ALongTailCannotOverflow) {
  std::mt19937_64 rng(1);
  const auto tail = Latency::long_tail(1ms, Clock::duration::max());
  for (int i = 0; i < 10'000; ++i) {
    const auto d = tail.sample(rng);
    ASSERT_GE(d, Clock::duration::zero());
    ASSERT_LE(d, std::chrono::hours(24 * 12));
  }
  const auto zero = Latency::long_tail(Clock::duration::zero(), Clock::duration::zero());
  EXPECT_EQ(zero.sample(rng), Clock::duration::zero());
}

// -------------------------------------------------------------- capacity

// Reads row i + 1, and says when it ended (as coroutine parameters, which the
// frame owns: a capturing lambda's captures die with the lambda).
asio::awaitable<void> read_one(MockDatabase& db, std::size_t i, Clock::time_point& end,
                               std::size_t& done, std::size_t n, workbook::Timer& all_done) {
  try {
    co_await db.read("notes", static_cast<mockdb::Id>(i + 1));
  } catch (const boost::system::system_error&) {
  }
  end = Clock::now();
  if (++done == n) all_done.cancel();
}

// Reads `n` rows at once; `ends[i]` receives when read i completed (or failed).
asio::awaitable<void> read_all_at_once(MockDatabase& db, std::size_t n,
                                       std::vector<Clock::time_point>& ends) {
  ends.assign(n, Clock::time_point{});
  auto ex = co_await asio::this_coro::executor;
  std::size_t done = 0;
  workbook::Timer all_done(ex, Clock::time_point::max());
  for (std::size_t i = 0; i < n; ++i) {
    asio::co_spawn(ex, read_one(db, i, ends[i], done, n, all_done), asio::detached);
  }
  boost::system::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  co_await all_done.async_wait(token);
}

TEST_F(MockDatabaseTest, CapacityQueuesTheRestInArrivalOrder) {
  db.set_capacity(4);
  db.set_latency(Latency::fixed(10ms));
  std::vector<Clock::time_point> ends;
  const auto start = Clock::now();
  run(read_all_at_once(db, 8, ends));
  // Four run at once; the next four wait 10 ms for their places, in arrival order.
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(ends[i] - start, i < 4 ? 10ms : 20ms) << "read " << i;
  }
  const mockdb::Stats stats = db.stats();
  EXPECT_EQ(stats.max_running, 4u);
  EXPECT_EQ(stats.max_queued, 4u);
  EXPECT_EQ(stats.ops_queued, 4u);
  EXPECT_EQ(stats.queued, 0u);
  EXPECT_EQ(stats.time_queued, 40ms);
  // A queued operation is in flight, and holds its connection, while it waits.
  EXPECT_EQ(stats.total.max_in_flight, 8u);
  EXPECT_EQ(stats.max_open_connections, 8u);
  // The trace shows the time each spent queued, inside its span.
  const auto spans = db.trace().spans();
  ASSERT_EQ(spans.size(), 8u);
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(spans[i].links.queued, i < 4 ? 0ms : 10ms) << "span " << i;
    EXPECT_EQ(spans[i].duration(), i < 4 ? 10ms : 20ms) << "span " << i;
  }
}

TEST_F(MockDatabaseTest, ThroughputFlattensAtTheCapacity) {
  db.set_capacity(4);
  db.set_latency(Latency::fixed(10ms));
  constexpr std::size_t kReads = 32;
  std::string curve;
  for (const std::size_t workers : {1u, 2u, 4u, 8u, 16u}) {
    // `workers` coroutines share kReads reads, each reading one at a time.
    std::size_t next = 0;
    auto worker = [&]() -> asio::awaitable<void> {
      while (next < kReads) {
        ++next;
        co_await db.read("notes", 1);
      }
    };
    for (std::size_t w = 0; w < workers; ++w) asio::co_spawn(ctx, worker(), asio::detached);
    workbook::run_until_idle(ctx);
    // Reads per 10 ms of virtual time, from the first start to the last end.
    const auto spans = db.trace().spans();
    ASSERT_EQ(spans.size(), kReads);
    const auto elapsed = *spans.back().end - spans.front().start;
    curve += std::to_string(kReads * 10ms / elapsed) + " ";
    db.trace().clear();
  }
  // One read per 10 ms per worker, up to four at once; more only queue.
  EXPECT_EQ(curve, "1 2 4 4 4 ");
}

TEST_F(MockDatabaseTest, AnOperationCancelledWhileQueuedLeavesTheQueue) {
  db.set_capacity(1);
  db.set_latency(Latency::fixed(10ms));
  asio::cancellation_signal cancel;
  boost::system::error_code first_error, cancelled_error, third_error;
  Clock::time_point cancelled_at{}, third_at{};
  const auto start = Clock::now();
  auto record = [](boost::system::error_code& error, Clock::time_point& at) {
    return [&error, &at](const std::exception_ptr& e, const std::optional<mockdb::Row>&) {
      at = Clock::now();
      try {
        if (e) std::rethrow_exception(e);
      } catch (const boost::system::system_error& failure) {
        error = failure.code();
      }
    };
  };
  Clock::time_point first_at{};
  asio::co_spawn(ctx, db.read("notes", 1), record(first_error, first_at));
  asio::co_spawn(
      ctx, db.read("notes", 2),
      asio::bind_cancellation_slot(cancel.slot(), record(cancelled_error, cancelled_at)));
  asio::co_spawn(ctx, db.read("notes", 3), record(third_error, third_at));
  run(workbook::sleep_for(3ms));
  EXPECT_EQ(db.stats().queued, 2u);
  cancel.emit(asio::cancellation_type::terminal);
  workbook::run_until_idle(ctx);
  EXPECT_EQ(cancelled_error, asio::error::operation_aborted);
  EXPECT_EQ(cancelled_at - start, 3ms);
  // The third takes the place the cancelled one left: it starts at 10 ms, not 20.
  EXPECT_FALSE(third_error);
  EXPECT_EQ(third_at - start, 20ms);
  const mockdb::Stats stats = db.stats();
  EXPECT_EQ(stats.queued, 0u);
  EXPECT_EQ(stats.total.cancelled, 1u);
  EXPECT_EQ(stats.time_queued, 3ms + 10ms);
  EXPECT_EQ(stats.open_connections, 0u);
}

TEST_F(MockDatabaseTest, AHungOperationHoldsItsPlaceUntilCancelled) {
  db.set_capacity(1);
  db.set_latency(Latency::fixed(10ms));
  db.hang_next(1);
  asio::cancellation_signal cancel;
  boost::system::error_code hung_error;
  start_cancellable_read(ctx, db, cancel, hung_error);
  Clock::time_point second_at{};
  asio::co_spawn(ctx, db.read("notes", 2),
                 [&second_at](const std::exception_ptr&, const std::optional<mockdb::Row>&) {
                   second_at = Clock::now();
                 });
  const auto start = Clock::now();
  run(workbook::sleep_for(50ms));
  EXPECT_EQ(second_at, Clock::time_point{}) << "the second read ran beside a hung one";
  EXPECT_EQ(db.stats().queued, 1u);
  cancel.emit(asio::cancellation_type::terminal);
  workbook::run_until_idle(ctx);
  EXPECT_EQ(hung_error, asio::error::operation_aborted);
  EXPECT_EQ(second_at - start, 60ms);
}

TEST_F(MockDatabaseTest, AServerThatFinishesACancelledStatementKeepsItsPlace) {
  db.set_capacity(1);
  db.set_latency(Latency::fixed(10ms));
  db.set_cancel_effect(mockdb::CancelEffect::server_finishes);
  asio::cancellation_signal cancel;
  boost::system::error_code first_error;
  start_cancellable_read(ctx, db, cancel, first_error);
  const auto start = Clock::now();
  run(workbook::sleep_for(2ms));
  cancel.emit(asio::cancellation_type::terminal);
  // The client gave up at 2 ms; the server works on until 10 ms.
  run(db.read("notes", 2));
  EXPECT_EQ(first_error, asio::error::operation_aborted);
  EXPECT_EQ(Clock::now() - start, 20ms);
}

TEST_F(MockDatabaseTest, RaisingTheCapacityStartsQueuedOperations) {
  db.set_capacity(1);
  db.set_latency(Latency::fixed(10ms));
  std::vector<Clock::time_point> ends;
  const auto start = Clock::now();
  run([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    asio::co_spawn(ex, read_all_at_once(db, 3, ends), asio::detached);
    co_await workbook::sleep_for(5ms);
    db.set_capacity(0);  // no limit: both queued reads start now
    co_await workbook::sleep_for(1s);
  }());
  EXPECT_EQ(ends[0] - start, 10ms);
  EXPECT_EQ(ends[1] - start, 15ms);
  EXPECT_EQ(ends[2] - start, 15ms);
}

TEST_F(MockDatabaseTest, RefusedOperationsDoNotQueue) {
  db.set_capacity(1);
  db.set_max_connections(1);
  db.set_latency(Latency::fixed(10ms));
  std::vector<Clock::time_point> ends;
  run(read_all_at_once(db, 3, ends));
  // The second and third found no connection: refused at once, never queued.
  EXPECT_EQ(db.stats().ops_queued, 0u);
  EXPECT_EQ(db.stats().total.failed, 2u);
}

TEST(MockDatabaseCapacity, QueuedOperationsEndWithTheirLoop) {
  // A loop destroyed with operations queued behind a hung one destroys them
  // (and frees their connections); nothing leaks (the asan build checks).
  MockDatabase db(mockdb::MockConfig{.capacity = 1});
  {
    asio::io_context ctx;
    db.hang_next(1);
    for (int i = 0; i < 3; ++i) asio::co_spawn(ctx, db.read("notes", 1), asio::detached);
    ctx.poll();
    EXPECT_EQ(db.stats().queued, 2u);
  }
  const mockdb::Stats stats = db.stats();
  EXPECT_EQ(stats.queued, 0u);
  EXPECT_EQ(stats.open_connections, 0u);
  EXPECT_EQ(stats.total.cancelled, 3u);
  EXPECT_EQ(stats.total.in_flight, 0u);
}

// -------------------------------------------------------------- threads

TEST(MockDatabaseThreads, NoWriteIsLostOnAMultiThreadedLoop) {
  const std::size_t threads = workbook::loop_threads(2);
  asio::io_context ctx(static_cast<int>(threads));
  MockDatabase db(mockdb::MockConfig{.max_connections = 0, .trace = false});
  constexpr std::int64_t kWriters = 200;
  constexpr std::int64_t kNotesEach = 20;
  std::atomic<int> finished{0};
  for (std::int64_t w = 0; w < kWriters; ++w) {
    asio::co_spawn(
        ctx,
        [&db, w]() -> asio::awaitable<void> {
          for (int n = 0; n < kNotesEach; ++n) {
            // (Rows are built before co_await: GCC 12 rejects braced lists there.)
            mockdb::Row note{{"writer", w}, {"n", n}};
            const auto id = co_await db.create("notes", std::move(note));
            mockdb::Row checked{{"checked", true}};
            co_await db.update("notes", id, std::move(checked));
          }
        },
        [&](const std::exception_ptr& e) {
          if (!e) ++finished;
        });
  }
  std::vector<std::thread> others;
  for (std::size_t t = 1; t < threads; ++t) others.emplace_back([&] { ctx.run(); });
  ctx.run();
  for (auto& t : others) t.join();
  EXPECT_EQ(finished.load(), kWriters);
  ASSERT_EQ(db.count("notes"), std::size_t{kWriters * kNotesEach});
  std::set<std::pair<std::int64_t, std::int64_t>> seen;
  for (mockdb::Id id = 1; id <= kWriters * kNotesEach; ++id) {
    const auto row = db.peek("notes", id);
    ASSERT_TRUE(row) << "note " << id << " is missing";
    EXPECT_EQ(row->at("checked"), true);
    seen.emplace(row->at("writer").as_int64(), row->at("n").as_int64());
  }
  EXPECT_EQ(seen.size(), std::size_t{kWriters * kNotesEach});
  EXPECT_EQ(db.stats().total.succeeded, std::uint64_t{2 * kWriters * kNotesEach});
}

TEST(MockDatabaseThreads, TheCapacityHoldsOnAMultiThreadedLoop) {
  const std::size_t threads = workbook::loop_threads(2);
  asio::io_context ctx(static_cast<int>(threads));
  MockDatabase db(mockdb::MockConfig{.max_connections = 0, .trace = false, .capacity = 3});
  constexpr int kReaders = 500;
  std::atomic<int> finished{0};
  for (int r = 0; r < kReaders; ++r) {
    asio::co_spawn(ctx, db.read("notes", 1),
                   [&](const std::exception_ptr& e, const std::optional<mockdb::Row>&) {
                     if (!e) ++finished;
                   });
  }
  std::vector<std::thread> others;
  for (std::size_t t = 1; t < threads; ++t) others.emplace_back([&] { ctx.run(); });
  ctx.run();
  for (auto& t : others) t.join();
  EXPECT_EQ(finished.load(), kReaders);
  const mockdb::Stats stats = db.stats();
  EXPECT_EQ(stats.max_running, 3u);
  EXPECT_EQ(stats.queued, 0u);
  EXPECT_EQ(stats.total.succeeded, std::uint64_t{kReaders});
}

}  // namespace
