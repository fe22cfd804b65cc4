// The SQLite backend through the workbook's interface: storage, the query
// subset's meaning, errors, the connection rules, where code runs (never
// SQLite on the event loop, never the caller on a pool thread), cancellation
// while queued and while running, and destruction with work in flight.
//
// Deterministic: a test that needs an operation blocked holds SQLite's write
// lock from a raw connection of its own, and learns that the operation waits
// from Options::on_lock_wait; nothing sleeps and nothing is timed.
#include "sqlitedb/sqlite_database.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "mockdb/query.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using mockdb::Errc;
using mockdb::ErrorClass;
using mockdb::Row;
using sqlitedb::Options;
using sqlitedb::SqliteDatabase;
using testing::HasSubstr;

namespace {

// A raw SQLite connection of the test's own, to hold locks.
class RawConnection {
 public:
  explicit RawConnection(const std::string& path) { sqlite3_open(path.c_str(), &db_); }
  ~RawConnection() { sqlite3_close(db_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;
  RawConnection(RawConnection&&) = delete;
  RawConnection& operator=(RawConnection&&) = delete;
  void exec(const std::string& sql) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
    const std::string text = message != nullptr ? message : "";
    sqlite3_free(message);
    ASSERT_EQ(rc, SQLITE_OK) << sql << ": " << text;
  }

 private:
  sqlite3* db_ = nullptr;
};

// An event a coroutine on the loop can wait for, signalled from any thread.
class Gate {
 public:
  explicit Gate(asio::io_context& ctx)
      : ctx_(ctx), timer_(ctx, asio::steady_timer::time_point::max()) {}
  void open() {
    asio::post(ctx_, [this] {
      opened_ = true;
      timer_.cancel();
    });
  }
  asio::awaitable<void> wait() {
    while (!opened_) {
      boost::system::error_code ignored;
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
  }

 private:
  asio::io_context& ctx_;
  asio::steady_timer timer_;
  bool opened_ = false;
};

class SqliteDatabaseTest : public testing::Test {
 public:
  SqliteDatabaseTest() {
    // A fresh file per test; SQLite treats an empty file as a new database.
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sqlitedb-test-XXXXXX").string();
    const int fd = mkstemp(pattern.data());
    if (fd >= 0) close(fd);
    path = pattern;
  }
  ~SqliteDatabaseTest() override {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::error_code ignored;
      std::filesystem::remove(path + suffix, ignored);
    }
  }
  SqliteDatabaseTest(const SqliteDatabaseTest&) = delete;
  SqliteDatabaseTest& operator=(const SqliteDatabaseTest&) = delete;
  SqliteDatabaseTest(SqliteDatabaseTest&&) = delete;
  SqliteDatabaseTest& operator=(SqliteDatabaseTest&&) = delete;

 protected:
  Options options(std::size_t threads = 2, std::size_t max_connections = 8) const {
    return {.path = path, .threads = threads, .max_connections = max_connections};
  }

  // Runs `task` on the loop (this thread) until it and everything it started is done.
  template <typename T>
  T run(asio::awaitable<T> task) {
    std::exception_ptr error;
    std::optional<T> value;
    asio::co_spawn(ctx, std::move(task), [&](const std::exception_ptr& e, T v) {
      error = e;
      if (!e) value.emplace(std::move(v));
    });
    ctx.restart();
    ctx.run();
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }
  void run(asio::awaitable<void> task) {
    std::exception_ptr error;
    asio::co_spawn(ctx, std::move(task), [&](const std::exception_ptr& e) { error = e; });
    ctx.restart();
    ctx.run();
    if (error) std::rethrow_exception(error);
  }

  // The error `task` fails with, or a default code.
  template <typename T>
  boost::system::error_code error_of(asio::awaitable<T> task, std::string* message = nullptr) {
    try {
      run(std::move(task));
    } catch (const boost::system::system_error& e) {
      if (message != nullptr) *message = e.what();
      return e.code();
    }
    return {};
  }

  std::vector<std::int64_t> ids(const mockdb::Rows& rows) {
    std::vector<std::int64_t> result;
    for (const Row& r : rows) result.push_back(r.at("id").as_int64());
    return result;
  }

  std::string path;
  asio::io_context ctx;
};

// ------------------------------------------------------------------ storage

TEST_F(SqliteDatabaseTest, CreateReadUpdateRemove) {
  SqliteDatabase db(options());
  EXPECT_EQ(run(db.create("notes", {{"title", "a"}, {"n", 1}})), 1);
  EXPECT_EQ(run(db.create("notes", {{"title", "b"}, {"id", 99}})), 2);  // "id" is ignored
  EXPECT_EQ(run(db.read("notes", 1)), (Row{{"title", "a"}, {"n", 1}, {"id", 1}}));
  EXPECT_EQ(run(db.read("notes", 2)), (Row{{"title", "b"}, {"id", 2}}));

  // Merge: fields replace, null sets null (it does not delete), id is ignored.
  EXPECT_TRUE(run(db.update("notes", 1, {{"n", nullptr}, {"tag", "x"}, {"id", 7}})));
  EXPECT_EQ(run(db.read("notes", 1)),
            (Row{{"title", "a"}, {"n", nullptr}, {"tag", "x"}, {"id", 1}}));
  EXPECT_FALSE(run(db.update("notes", 3, {{"n", 1}})));

  EXPECT_TRUE(run(db.remove("notes", 2)));
  EXPECT_FALSE(run(db.remove("notes", 2)));
  EXPECT_EQ(run(db.read("notes", 2)), std::nullopt);
  EXPECT_EQ(run(db.create("notes", {{"title", "c"}})), 3) << "ids are never reused";

  // A table that does not exist: no row, no error.
  EXPECT_EQ(run(db.read("missing", 1)), std::nullopt);
  EXPECT_FALSE(run(db.update("missing", 1, {{"n", 1}})));
  EXPECT_FALSE(run(db.remove("missing", 1)));
}

TEST_F(SqliteDatabaseTest, ValuesKeepTheirJsonTypes) {
  SqliteDatabase db(options());
  const Row row{{"i", -5},
                {"u", 18446744073709551615ULL},
                {"d", 2.5},
                {"b", true},
                {"s", "x'\""},
                {"a", json::array{1, "two"}},
                {"o", {{"k", nullptr}}}};
  const auto id = run(db.create("t", row));
  Row expected = row;
  expected["id"] = id;
  EXPECT_EQ(run(db.read("t", id)), expected);
}

// ------------------------------------------------------------------ queries

class SqliteQueryTest : public SqliteDatabaseTest {
 protected:
  // Rows 1..6 of table "t".
  void fill(SqliteDatabase& db) {
    const std::vector<Row> rows = {
        {{"n", 2}, {"s", "b"}, {"flag", true}},        // 1
        {{"n", 2.0}, {"s", "B"}, {"flag", false}},     // 2
        {{"n", 1}, {"s", "a"}},                        // 3: no flag
        {{"n", nullptr}, {"s", "c"}, {"flag", true}},  // 4
        {{"s", "ab"}, {"flag", false}},                // 5: no n
        {{"n", 10}, {"s", "a"}, {"flag", true}},       // 6
    };
    for (const Row& r : rows) run(db.create("t", r));
  }
  mockdb::Rows q(SqliteDatabase& db, std::string sql, mockdb::Params params = {}) {
    return run(db.query(std::move(sql), std::move(params)));
  }
};

TEST_F(SqliteQueryTest, NumbersCompareNumerically) {
  SqliteDatabase db(options());
  fill(db);
  EXPECT_EQ(ids(q(db, "SELECT * FROM t WHERE n = 2")), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(ids(q(db, "SELECT * FROM t WHERE n > 1.5")), (std::vector<std::int64_t>{1, 2, 6}));
  EXPECT_EQ(ids(q(db, "SELECT * FROM t WHERE n < $1", {2.5})),
            (std::vector<std::int64_t>{1, 2, 3}));
}

TEST_F(SqliteQueryTest, StringsCompareBytewise) {
  SqliteDatabase db(options());
  fill(db);
  // 'B' (0x42) < 'a' (0x61) < 'ab' < 'b'.
  EXPECT_EQ(ids(q(db, "SELECT * FROM t WHERE s < 'a'")), (std::vector<std::int64_t>{2}));
  EXPECT_EQ(ids(q(db, "SELECT * FROM t WHERE s >= $1", {"ab"})),
            (std::vector<std::int64_t>{1, 4, 5}));
}

TEST_F(SqliteQueryTest, BooleansAreBooleansNotNumbers) {
  SqliteDatabase db(options());
  fill(db);
  EXPECT_EQ(ids(q(db, "SELECT * FROM t WHERE flag = TRUE")), (std::vector<std::int64_t>{1, 4, 6}));
  EXPECT_EQ(ids(q(db, "SELECT * FROM t WHERE flag < TRUE")), (std::vector<std::int64_t>{2, 5}));
  // json_extract() would say true = 1; this backend refuses the comparison.
  EXPECT_EQ(error_of(db.query("SELECT * FROM t WHERE flag = 1")), ErrorClass::invalid_parameter);
}

TEST_F(SqliteQueryTest, NullFollowsThreeValuedLogic) {
  SqliteDatabase db(options());
  fill(db);
  EXPECT_EQ(ids(q(db, "SELECT * FROM t WHERE n != 2")), (std::vector<std::int64_t>{3, 6}));
  EXPECT_EQ(ids(q(db, "SELECT * FROM t WHERE n = NULL")), (std::vector<std::int64_t>{}));
  EXPECT_EQ(ids(q(db, "SELECT * FROM t WHERE n = $1", {nullptr})), (std::vector<std::int64_t>{}));
  EXPECT_EQ(ids(q(db, "SELECT * FROM t WHERE n IS NULL")), (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(ids(q(db, "SELECT * FROM t WHERE flag IS NOT NULL AND n IS NOT NULL")),
            (std::vector<std::int64_t>{1, 2, 6}));
}

TEST_F(SqliteQueryTest, OrderByPutsNullsWherePostgresqlDoes) {
  SqliteDatabase db(options());
  fill(db);
  // ASC: NULLs last; ties (1 and 2 are both 2) in id order.
  EXPECT_EQ(ids(q(db, "SELECT * FROM t ORDER BY n")),
            (std::vector<std::int64_t>{3, 1, 2, 6, 4, 5}));
  // DESC: NULLs first.
  EXPECT_EQ(ids(q(db, "SELECT * FROM t ORDER BY n DESC")),
            (std::vector<std::int64_t>{4, 5, 6, 1, 2, 3}));
  EXPECT_EQ(ids(q(db, "SELECT * FROM t ORDER BY n NULLS FIRST")),
            (std::vector<std::int64_t>{4, 5, 3, 1, 2, 6}));
  EXPECT_EQ(ids(q(db, "SELECT * FROM t ORDER BY flag DESC NULLS LAST, s")),
            (std::vector<std::int64_t>{6, 1, 4, 2, 5, 3}));
  EXPECT_EQ(ids(q(db, "SELECT * FROM t ORDER BY id DESC")),
            (std::vector<std::int64_t>{6, 5, 4, 3, 2, 1}));
}

TEST_F(SqliteQueryTest, LimitAndOffset) {
  SqliteDatabase db(options());
  fill(db);
  EXPECT_EQ(ids(q(db, "SELECT * FROM t LIMIT 2")), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(ids(q(db, "SELECT * FROM t LIMIT 2 OFFSET 3")), (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(ids(q(db, "SELECT * FROM t OFFSET 4")), (std::vector<std::int64_t>{5, 6}));
  EXPECT_EQ(ids(q(db, "SELECT * FROM t WHERE id > $1 LIMIT $2", {2, 1})),
            (std::vector<std::int64_t>{3}));
  EXPECT_EQ(error_of(db.query("SELECT * FROM t LIMIT $1", {-1})), ErrorClass::invalid_parameter);
  EXPECT_EQ(error_of(db.query("SELECT * FROM t WHERE n = $2", {1})), ErrorClass::invalid_parameter);
}

TEST_F(SqliteQueryTest, LiteralsAreBoundNotFormatted) {
  SqliteDatabase db(options());
  run(db.create("t", {{"s", "'); DROP TABLE t; --"}}));
  EXPECT_EQ(ids(q(db, "SELECT * FROM t WHERE s = '''); DROP TABLE t; --'")),
            (std::vector<std::int64_t>{1}));
  EXPECT_EQ(ids(q(db, "SELECT * FROM t")), (std::vector<std::int64_t>{1}));
}

// ------------------------------------------------------------------- errors

TEST_F(SqliteDatabaseTest, ErrorsMapOntoErrorClasses) {
  SqliteDatabase db(options());
  run(db.create("t", {{"n", 1}}));
  std::string message;
  EXPECT_EQ(error_of(db.query("SELECT FROM t"), &message), ErrorClass::syntax_error);
  EXPECT_EQ(error_of(db.query("SELECT * FROM nothing"), &message), ErrorClass::undefined_object);
  EXPECT_THAT(message, HasSubstr("no such table: nothing"));
  EXPECT_EQ(error_of(db.query("SELECT * FROM t WHERE n = 'one'"), &message),
            ErrorClass::invalid_parameter);
  EXPECT_THAT(message, HasSubstr("compares a string with a field of JSON type integer in row 1"));
  EXPECT_EQ(error_of(db.query("SELECT * FROM t WHERE id = 'one'")), ErrorClass::invalid_parameter);

  try {
    run(db.query("SELECT * FROM nothing"));
    ADD_FAILURE() << "no error";
  } catch (const mockdb::DatabaseError& e) {
    EXPECT_EQ(e.code().category(), sqlitedb::category());
    EXPECT_EQ(e.diagnostics().sqlstate, "SQLITE_ERROR");
  }
}

TEST_F(SqliteDatabaseTest, ABusyDatabaseIsUnavailable) {
  Options o = options(1);
  o.busy_timeout = std::chrono::milliseconds(20);
  SqliteDatabase db(o);
  run(db.create("t", {{"n", 1}}));
  RawConnection raw(path);
  raw.exec("BEGIN EXCLUSIVE");
  std::string message;
  const auto ec = error_of(db.create("t", {{"n", 2}}), &message);
  EXPECT_EQ(ec, ErrorClass::unavailable);
  EXPECT_TRUE(mockdb::is_transient(ec));
  EXPECT_THAT(message, HasSubstr("database is locked"));
  raw.exec("COMMIT");
  EXPECT_EQ(run(db.create("t", {{"n", 2}})), 2) << "the worker's connection is still usable";
}

TEST_F(SqliteDatabaseTest, AFileThatIsNotADatabaseIsAClearError) {
  std::ofstream(path) << std::string(4096, 'x');
  SqliteDatabase db(options());
  std::string message;
  EXPECT_EQ(error_of(db.read("t", 1), &message), ErrorClass::connection_failure);
  EXPECT_THAT(message, HasSubstr("file is not a database"));
  EXPECT_EQ(error_of(db.connect()), ErrorClass::connection_failure);
  EXPECT_EQ(db.stats().open_connections, 0U);
}

// -------------------------------------------------------------- connections

TEST_F(SqliteDatabaseTest, DirectOperationsFailWhenNoPlaceIsFree) {
  SqliteDatabase db(options(2, 1));
  run([&]() -> asio::awaitable<void> {
    auto connection = co_await db.connect();
    const Row row{{"n", 1}};
    EXPECT_EQ(co_await connection->create("t", row), 1);
    std::string message;
    try {
      co_await db.read("t", 1);
      ADD_FAILURE() << "no error";
    } catch (const boost::system::system_error& e) {
      EXPECT_EQ(e.code(), Errc::too_many_connections);
    }
    co_await connection->close();
    try {
      co_await connection->read("t", 1);
      ADD_FAILURE() << "a closed connection must refuse";
    } catch (const boost::system::system_error& e) {
      EXPECT_EQ(e.code(), Errc::connection_closed);
    }
  }());
}

TEST_F(SqliteDatabaseTest, ClosedConnectionFreesItsPlace) {
  SqliteDatabase db(options(2, 1));
  run([&]() -> asio::awaitable<void> {
    auto connection = co_await db.connect();
    co_await connection->close();
    co_await connection->close();  // harmless
    EXPECT_EQ(db.stats().open_connections, 0U);
    const Row row{{"n", 1}};
    EXPECT_EQ(co_await db.create("t", row), 1);
  }());
}

TEST_F(SqliteDatabaseTest, ASecondOperationOnABusyConnectionFailsAtOnce) {
  Options o = options(1);
  Gate waiting(ctx);
  o.on_lock_wait = [&] { waiting.open(); };
  SqliteDatabase db(o);
  run(db.create("t", {{"n", 1}}));
  RawConnection raw(path);
  run([&]() -> asio::awaitable<void> {
    auto connection = co_await db.connect();
    raw.exec("BEGIN EXCLUSIVE");
    bool first_done = false;
    asio::co_spawn(ctx, connection->create("t", {{"n", 2}}),
                   [&](const std::exception_ptr& e, mockdb::Id) {
                     EXPECT_FALSE(e);
                     first_done = true;
                   });
    co_await waiting.wait();  // the first operation waits for the lock
    try {
      co_await connection->read("t", 1);
      ADD_FAILURE() << "no error";
    } catch (const boost::system::system_error& e) {
      EXPECT_EQ(e.code(), Errc::operation_in_progress);
      EXPECT_EQ(e.code(), ErrorClass::misuse);
    }
    EXPECT_FALSE(first_done);
    raw.exec("COMMIT");
    while (!first_done) co_await asio::post(ctx, asio::use_awaitable);
  }());
}

// ------------------------------------------------------- where things run

TEST_F(SqliteDatabaseTest, CallersResumeOnTheirExecutorAndSqliteNeverRunsOnTheLoop) {
  Options o = options(3);
  std::mutex mutex;
  std::set<std::thread::id> pool_threads;
  const std::thread::id loop_thread = std::this_thread::get_id();
  std::atomic<int> statements{0};
  std::atomic<int> statements_on_loop{0};
  struct Counters {
    std::atomic<int>* statements = nullptr;
    std::atomic<int>* on_loop = nullptr;
    std::thread::id loop{};
  } counters{&statements, &statements_on_loop, loop_thread};
  o.on_open = [&](sqlite3* db) {
    {
      std::lock_guard lock(mutex);
      pool_threads.insert(std::this_thread::get_id());
    }
    // Every statement SQLite starts on this connection reports its thread.
    sqlite3_trace_v2(
        db, SQLITE_TRACE_STMT,
        [](unsigned, void* context, void*, void*) {
          auto* c = static_cast<Counters*>(context);
          c->statements->fetch_add(1);
          if (std::this_thread::get_id() == c->loop) c->on_loop->fetch_add(1);
          return 0;
        },
        &counters);
  };
  SqliteDatabase db(o);
  std::vector<std::thread::id> resumed_on;
  auto task = [&](int i) -> asio::awaitable<void> {
    const Row row{{"n", i}};
    const auto id = co_await db.create("t", row);
    resumed_on.push_back(std::this_thread::get_id());
    co_await db.read("t", id);
    resumed_on.push_back(std::this_thread::get_id());
    const mockdb::Params params{i};
    co_await db.query("SELECT * FROM t WHERE n >= $1", params);
    resumed_on.push_back(std::this_thread::get_id());
  };
  for (int i = 0; i < 8; ++i)
    asio::co_spawn(ctx, task(i), [](const std::exception_ptr& e) {
      try {
        if (e) std::rethrow_exception(e);
      } catch (const std::exception& error) {
        ADD_FAILURE() << error.what();
      }
    });
  ctx.run();
  ASSERT_EQ(resumed_on.size(), 24U);
  for (const auto& id : resumed_on) {
    EXPECT_EQ(id, loop_thread) << "a coroutine resumed on a pool thread";
  }
  std::lock_guard lock(mutex);
  EXPECT_FALSE(pool_threads.empty());
  EXPECT_EQ(pool_threads.count(loop_thread), 0U);
  EXPECT_GT(statements.load(), 24);
  EXPECT_EQ(statements_on_loop.load(), 0) << "SQLite ran a statement on the event loop's thread";
}

// ----------------------------------------------------------- cancellation

TEST_F(SqliteDatabaseTest, CancelledWhileQueuedNeverRuns) {
  Options o = options(1);
  o.busy_timeout = std::chrono::hours(1);  // the lock is released by the test, not by time
  Gate waiting(ctx);
  o.on_lock_wait = [&] { waiting.open(); };
  SqliteDatabase db(o);
  run(db.create("t", {{"n", 1}}));
  RawConnection raw(path);
  raw.exec("BEGIN EXCLUSIVE");
  run([&]() -> asio::awaitable<void> {
    // The only worker waits for the lock with the first create...
    std::optional<std::exception_ptr> first;
    asio::co_spawn(ctx, db.create("t", {{"n", 2}}),
                   [&](const std::exception_ptr& e, mockdb::Id) { first = e; });
    co_await waiting.wait();
    // ...so the second one queues.
    asio::cancellation_signal signal;
    std::optional<std::exception_ptr> second;
    asio::co_spawn(ctx, db.create("t", {{"n", 3}}),
                   asio::bind_cancellation_slot(signal.slot(), [&](const std::exception_ptr& e,
                                                                   mockdb::Id) { second = e; }));
    while (db.stats().queued == 0) co_await asio::post(ctx, asio::use_awaitable);
    signal.emit(asio::cancellation_type::terminal);
    while (!second) co_await asio::post(ctx, asio::use_awaitable);
    EXPECT_TRUE(*second);
    if (!*second) co_return;
    try {
      std::rethrow_exception(*second);
    } catch (const boost::system::system_error& e) {
      EXPECT_EQ(e.code(), asio::error::operation_aborted);
    }
    EXPECT_EQ(db.stats().queued, 0U);
    EXPECT_FALSE(first) << "the running operation is untouched";
    raw.exec("COMMIT");
    while (!first) co_await asio::post(ctx, asio::use_awaitable);
  }());
  const auto rows = run(db.query("SELECT * FROM t"));
  ASSERT_EQ(rows.size(), 2U) << "the cancelled create never ran";
  EXPECT_EQ(rows[1].at("n"), 2);
}

TEST_F(SqliteDatabaseTest, CancelledWhileWaitingForALockStopsAndRollsBack) {
  Options o = options(1);
  o.busy_timeout = std::chrono::hours(1);
  Gate waiting(ctx);
  o.on_lock_wait = [&] { waiting.open(); };
  SqliteDatabase db(o);
  run(db.create("t", {{"n", 1}}));
  RawConnection raw(path);
  raw.exec("BEGIN EXCLUSIVE");
  run([&]() -> asio::awaitable<void> {
    asio::cancellation_signal signal;
    std::optional<std::exception_ptr> outcome;
    asio::co_spawn(ctx, db.update("t", 1, {{"n", 2}}),
                   asio::bind_cancellation_slot(
                       signal.slot(), [&](const std::exception_ptr& e, bool) { outcome = e; }));
    co_await waiting.wait();
    signal.emit(asio::cancellation_type::terminal);
    // The lock is still held: only the cancellation can end the wait.
    while (!outcome) co_await asio::post(ctx, asio::use_awaitable);
    EXPECT_TRUE(*outcome);
    if (!*outcome) co_return;
    try {
      std::rethrow_exception(*outcome);
    } catch (const boost::system::system_error& e) {
      EXPECT_EQ(e.code(), asio::error::operation_aborted);
    }
  }());
  raw.exec("COMMIT");
  EXPECT_EQ(run(db.read("t", 1))->at("n"), 1) << "the update had no effect";
  EXPECT_TRUE(run(db.update("t", 1, {{"n", 3}}))) << "the worker's connection is usable";
}

TEST_F(SqliteDatabaseTest, CancelledWhileRunningIsInterruptedAndBreaksTheConnection) {
  Options o = options(1);
  asio::cancellation_signal signal;
  // When the query's statement starts on the worker, the test cancels it from
  // the loop and lets the statement go on only once the request is made: the
  // progress handler must then stop it.
  struct Hook {
    std::atomic<bool> armed{false};
    std::function<void()> cancel;
  } hook;
  hook.cancel = [&] {
    std::promise<void> emitted;
    asio::post(ctx, [&] {
      signal.emit(asio::cancellation_type::terminal);
      emitted.set_value();
    });
    emitted.get_future().wait();
  };
  o.on_open = [&](sqlite3* db) {
    sqlite3_trace_v2(
        db, SQLITE_TRACE_STMT,
        [](unsigned, void* context, void* statement, void*) {
          auto* h = static_cast<Hook*>(context);
          const char* sql = sqlite3_sql(static_cast<sqlite3_stmt*>(statement));
          if (h->armed.load() && std::string_view(sql).starts_with("SELECT id, doc")) {
            h->armed = false;  // once
            h->cancel();
          }
          return 0;
        },
        &hook);
  };
  SqliteDatabase db(o);
  run(db.create("t", {{"n", 0}}));
  {
    // Enough rows that the scan runs well past one progress-handler interval.
    RawConnection raw(path);
    raw.exec("BEGIN");
    for (int i = 1; i < 500; ++i) {
      raw.exec("INSERT INTO t (doc) VALUES ('{\"n\":" + std::to_string(i) + "}')");
    }
    raw.exec("COMMIT");
  }
  run([&]() -> asio::awaitable<void> {
    auto connection = co_await db.connect();
    hook.armed = true;
    std::optional<std::exception_ptr> outcome;
    asio::co_spawn(
        ctx, connection->query("SELECT * FROM t WHERE n >= 0 ORDER BY n DESC"),
        asio::bind_cancellation_slot(
            signal.slot(), [&](const std::exception_ptr& e, const mockdb::Rows&) { outcome = e; }));
    while (!outcome) co_await asio::post(ctx, asio::use_awaitable);
    EXPECT_TRUE(*outcome);
    if (!*outcome) co_return;
    try {
      std::rethrow_exception(*outcome);
    } catch (const boost::system::system_error& e) {
      EXPECT_EQ(e.code(), asio::error::operation_aborted);
    }
    try {
      co_await connection->read("t", 1);
      ADD_FAILURE() << "a connection cancelled mid-operation must be broken";
    } catch (const boost::system::system_error& e) {
      EXPECT_EQ(e.code(), Errc::connection_closed);
    }
  }());
  EXPECT_EQ(run(db.query("SELECT * FROM t WHERE n >= 0")).size(), 500U)
      << "the worker's connection serves the next job";
}

TEST_F(SqliteDatabaseTest, DestroyingTheDatabaseAbandonsPendingOperations) {
  Options o = options(1);
  o.busy_timeout = std::chrono::hours(1);
  Gate waiting(ctx);
  o.on_lock_wait = [&] { waiting.open(); };
  auto db = std::make_unique<SqliteDatabase>(o);
  run(db->create("t", {{"n", 1}}));
  RawConnection raw(path);
  raw.exec("BEGIN EXCLUSIVE");
  std::vector<boost::system::error_code> outcomes;
  auto write = [&](int n) -> asio::awaitable<void> {
    try {
      const Row row{{"n", n}};
      co_await db->create("t", row);
    } catch (const boost::system::system_error& e) {
      outcomes.push_back(e.code());
    }
  };
  run([&]() -> asio::awaitable<void> {
    asio::co_spawn(ctx, write(2), asio::detached);  // running: waits for the lock
    co_await waiting.wait();
    asio::co_spawn(ctx, write(3), asio::detached);  // queued
    while (db->stats().queued == 0) co_await asio::post(ctx, asio::use_awaitable);
    db.reset();
  }());
  raw.exec("COMMIT");
  EXPECT_EQ(outcomes, (std::vector<boost::system::error_code>(2, asio::error::operation_aborted)));
}

}  // namespace
