// The PostgreSQL backend against a real server (a TemporaryServer, or the one PGHOST names):
// CRUD, queries, errors with SQLSTATE diagnostics, the pool's limit, the one-operation rule,
// cancellation (the server stops too), a server that is down, a backend killed mid-query, and
// pipeline mode. A query is made to hang deterministically by an admin session holding
// LOCK TABLE ... ACCESS EXCLUSIVE: it waits on the server until the lock goes or it is stopped.
#include "pgdb/postgres_database.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "mockdb/query.hpp"
#include "pgdb/testing/temporary_server.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using mockdb::Errc;
using mockdb::ErrorClass;
using mockdb::Row;
using pgdb::PostgresDatabase;
using pgdb::testing::AdminSession;
using pgdb::testing::TemporaryServer;
using testing::HasSubstr;

namespace {

// One server for all the tests of this program (started once, reset before each test).
class PostgresTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      server_ = std::make_unique<TemporaryServer>();
    } catch (const pgdb::testing::ServerUnavailable& e) {
      unavailable_ = e.what();
    } catch (const std::exception& e) {
      failed_ = e.what();
    }
  }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    ASSERT_EQ(failed_, "") << "the test server did not start";
    if (!server_) {
      // Under CI a missing server is a failure: a skipped suite would pass unnoticed.
      if (pgdb::testing::running_in_ci()) FAIL() << unavailable_ << " (CI=true: failing)";
      GTEST_SKIP() << unavailable_;
    }
    server_->reset();
    db_ = std::make_unique<PostgresDatabase>(ctx_.get_executor(), options());
  }

  pgdb::Options options() const { return server_->options(); }

  // Runs the loop until `op` completes; returns its value or throws its exception.
  template <typename T>
  T run(asio::awaitable<T> op) {
    std::future<T> result = asio::co_spawn(ctx_, std::move(op), asio::use_future);
    ctx_.restart();
    ctx_.run();
    return result.get();
  }

  // Starts `op` with a cancellation slot of `signal`; the loop runs it as the test drives it.
  template <typename T>
  std::future<T> start(asio::awaitable<T> op, asio::cancellation_signal& signal) {
    return asio::co_spawn(ctx_, std::move(op),
                          asio::bind_cancellation_slot(signal.slot(), asio::use_future));
  }

  // Runs ready handlers and checks `condition` until it holds. Polls the server: there is no
  // event to wait for in pg_stat_activity. The bound turns a condition that never comes into a
  // failure, not a hang; no assertion depends on how long this takes.
  bool eventually(const std::function<bool()>& condition) {
    for (int attempt = 0; attempt < 3000; ++attempt) {
      ctx_.restart();
      ctx_.poll();
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  // Backends of our database waiting for a lock (other than the admin's own).
  int waiting_on_locks() {
    return std::stoi(
        server_->execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                         "AND datname = current_database()")[0][0]);
  }

  std::string waiting_pid() {
    return server_->execute(
        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND datname = current_database()")[0][0];
  }

  // An admin session that holds an ACCESS EXCLUSIVE lock on `table` until it rolls back.
  std::unique_ptr<AdminSession> lock_table(const std::string& table) {
    auto admin = std::make_unique<AdminSession>(server_->conninfo());
    admin->execute("BEGIN; LOCK TABLE \"" + table + "\" IN ACCESS EXCLUSIVE MODE");
    return admin;
  }

  static std::unique_ptr<TemporaryServer> server_;
  static std::string unavailable_;
  static std::string failed_;
  asio::io_context ctx_;
  std::unique_ptr<PostgresDatabase> db_;
};

std::unique_ptr<TemporaryServer> PostgresTest::server_;
std::string PostgresTest::unavailable_;
std::string PostgresTest::failed_;

// The DatabaseError `f` throws (fails the test if it throws none or another kind).
template <typename F>
mockdb::DatabaseError error_of(F&& f) {
  try {
    f();
  } catch (const mockdb::DatabaseError& e) {
    return e;
  }
  ADD_FAILURE() << "expected a DatabaseError";
  return {Errc::bad_parameter, {}};
}

Row row(std::string_view text) { return json::parse(text).as_object(); }

std::vector<std::int64_t> ids_of(const mockdb::Rows& rows) {
  std::vector<std::int64_t> ids;
  for (const Row& r : rows) ids.push_back(r.at("id").as_int64());
  return ids;
}

// ------------------------------------------------------------------ without a server

TEST(PostgresErrors, SqlstatesMapOntoErrorClasses) {
  EXPECT_EQ(pgdb::make_error_code("08006"), ErrorClass::connection_failure);
  EXPECT_EQ(pgdb::make_error_code("53300"), ErrorClass::too_many_connections);
  EXPECT_EQ(pgdb::make_error_code("57P01"), ErrorClass::unavailable);
  EXPECT_EQ(pgdb::make_error_code("40P01"), ErrorClass::unavailable);
  EXPECT_EQ(pgdb::make_error_code("42601"), ErrorClass::syntax_error);
  EXPECT_EQ(pgdb::make_error_code("42P01"), ErrorClass::undefined_object);
  EXPECT_EQ(pgdb::make_error_code("42703"), ErrorClass::undefined_object);
  EXPECT_EQ(pgdb::make_error_code("22023"), ErrorClass::invalid_parameter);
  EXPECT_EQ(pgdb::make_error_code("42883"), ErrorClass::invalid_parameter);
  EXPECT_EQ(pgdb::make_error_code("08P01"), ErrorClass::invalid_parameter);
  EXPECT_EQ(pgdb::make_error_code("42501"), ErrorClass::insufficient_privilege);
  EXPECT_EQ(pgdb::make_error_code("57014"), ErrorClass::timed_out);
  EXPECT_TRUE(mockdb::is_transient(pgdb::make_error_code("40001")));
  EXPECT_FALSE(mockdb::is_transient(pgdb::make_error_code("42P01")));
  EXPECT_EQ(pgdb::sqlstate(pgdb::make_error_code("42P01")), "42P01");
  EXPECT_EQ(pgdb::make_error_code("42P01").category().name(), std::string("postgresql"));
}

// ------------------------------------------------------------------ with a server

TEST_F(PostgresTest, CreatesReadsUpdatesAndRemovesRows) {
  const auto first = run(db_->create("notes", row(R"({"title":"a","n":1,"id":99})")));
  const auto second = run(db_->create("notes", row(R"({"title":"b","n":2.5})")));
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 2);
  EXPECT_EQ(run(db_->read("notes", first)), row(R"({"title":"a","n":1,"id":1})"));
  EXPECT_TRUE(run(db_->update("notes", first, row(R"({"n":null,"tag":"x","id":7})"))));
  EXPECT_EQ(run(db_->read("notes", first)), row(R"({"title":"a","n":null,"tag":"x","id":1})"));
  EXPECT_FALSE(run(db_->update("notes", 42, row(R"({"n":1})"))));
  EXPECT_TRUE(run(db_->remove("notes", first)));
  EXPECT_FALSE(run(db_->remove("notes", first)));
  EXPECT_EQ(run(db_->read("notes", first)), std::nullopt);
  // A table that does not exist has no rows; that is not an error.
  EXPECT_EQ(run(db_->read("nothing", 1)), std::nullopt);
  EXPECT_FALSE(run(db_->update("nothing", 1, row("{}"))));
  EXPECT_FALSE(run(db_->remove("nothing", 1)));
}

TEST_F(PostgresTest, ConnectionsRunTheSameOperations) {
  auto conn = run(db_->connect());
  const auto id = run(conn->create("Mixed Case", row(R"({"x":"y"})")));
  EXPECT_EQ(run(conn->read("Mixed Case", id)), row(R"({"x":"y","id":1})"));
  EXPECT_EQ(ids_of(run(conn->query(R"(SELECT * FROM "Mixed Case" WHERE x = $1)", {"y"}))),
            std::vector<std::int64_t>{1});
  run(conn->close());
  const auto e = error_of([&] { run(conn->read("Mixed Case", id)); });
  EXPECT_EQ(e.code(), Errc::connection_closed);
}

TEST_F(PostgresTest, QueriesFollowTheWorkbooksRules) {
  for (const char* r : {R"({"n":3,"s":"apple","b":true})", R"({"n":1,"s":"Banana"})",
                        R"({"n":2.0,"s":"cherry","b":false})", R"({"s":"date"})",
                        R"({"n":null,"s":"elder"})", R"({"n":2,"s":"fig"})"}) {
    run(db_->create("items", row(r)));
  }
  auto ids = [&](std::string sql, mockdb::Params params = {}) {
    return ids_of(run(db_->query(std::move(sql), std::move(params))));
  };
  using V = std::vector<std::int64_t>;
  // Numbers compare numerically (2 = 2.0); NULL never compares; no ORDER BY: id order.
  EXPECT_EQ(ids("SELECT * FROM items WHERE n = 2"), (V{3, 6}));
  EXPECT_EQ(ids("SELECT * FROM items WHERE n != $1", {2}), (V{1, 2}));
  EXPECT_EQ(ids("SELECT * FROM items WHERE n = NULL"), V{});
  EXPECT_EQ(ids("SELECT * FROM items WHERE n IS NULL"), (V{4, 5}));
  EXPECT_EQ(ids("SELECT * FROM items WHERE b IS NOT NULL AND b = FALSE"), (V{3}));
  // Strings bytewise: 'Banana' < 'apple'.
  EXPECT_EQ(ids("SELECT * FROM items WHERE s < 'apple'"), (V{2}));
  // ORDER BY: NULLs last for ASC, first for DESC; ties in id order; LIMIT/OFFSET as params.
  EXPECT_EQ(ids("SELECT * FROM items ORDER BY n"), (V{2, 3, 6, 1, 4, 5}));
  EXPECT_EQ(ids("SELECT * FROM items ORDER BY n DESC"), (V{4, 5, 1, 3, 6, 2}));
  EXPECT_EQ(ids("SELECT * FROM items ORDER BY n DESC NULLS LAST LIMIT $1 OFFSET $2", {3, 1}),
            (V{3, 6, 2}));
  EXPECT_EQ(ids("SELECT * FROM items ORDER BY s"), (V{2, 1, 3, 4, 5, 6}));
  EXPECT_EQ(ids("SELECT * FROM items WHERE id >= 2 AND id < 4 ORDER BY id DESC"), (V{3, 2}));
  EXPECT_EQ(ids("SELECT * FROM items WHERE n > 1.5 ORDER BY n, id DESC LIMIT 2"), (V{6, 3}));
  // Rows come back whole, with their id.
  EXPECT_EQ(run(db_->query("SELECT * FROM items WHERE s = 'fig'")),
            (mockdb::Rows{row(R"({"n":2,"s":"fig","id":6})")}));
}

TEST_F(PostgresTest, ATypeMismatchIsAServerErrorWithItsSqlstate) {
  run(db_->create("items", row(R"({"n":"three"})")));
  const auto e = error_of([&] { run(db_->query("SELECT * FROM items WHERE n > 2")); });
  EXPECT_EQ(e.code(), ErrorClass::invalid_parameter);
  EXPECT_EQ(e.diagnostics().sqlstate, "42883");
  EXPECT_THAT(e.diagnostics().server_message, HasSubstr("type mismatch"));
  EXPECT_STREQ(e.code().category().name(), "postgresql");
  // The connection that met the error went back to the pool, and works.
  EXPECT_EQ(run(db_->query("SELECT * FROM items")).size(), 1U);
  EXPECT_EQ(db_->open_connections(), 1U);
}

TEST_F(PostgresTest, ASyntaxErrorIsTheParsersAndNothingIsSent) {
  const auto e = error_of([&] { run(db_->query("SELEKT * FROM items")); });
  EXPECT_EQ(e.code(), ErrorClass::syntax_error);
  EXPECT_EQ(e.diagnostics().position, 0U);
}

TEST_F(PostgresTest, AnUnknownTableIsUndefinedObject) {
  const auto e = error_of([&] { run(db_->query("SELECT * FROM nowhere")); });
  EXPECT_EQ(e.code(), ErrorClass::undefined_object);
  EXPECT_EQ(e.diagnostics().sqlstate, "42P01");
  EXPECT_THAT(e.diagnostics().server_message, HasSubstr("nowhere"));
  EXPECT_TRUE(e.diagnostics().position.has_value());
}

TEST_F(PostgresTest, AMissingOrBadParameterIsInvalidParameter) {
  run(db_->create("items", row(R"({"n":1})")));
  EXPECT_EQ(error_of([&] { run(db_->query("SELECT * FROM items WHERE n = $2", {1})); }).code(),
            ErrorClass::invalid_parameter);
  EXPECT_EQ(error_of([&] { run(db_->query("SELECT * FROM items LIMIT $1", {-1})); }).code(),
            ErrorClass::invalid_parameter);
}

TEST_F(PostgresTest, AFullPoolRefusesAtOnce) {
  auto opts = options();
  opts.max_connections = 1;
  db_ = std::make_unique<PostgresDatabase>(ctx_.get_executor(), opts);
  auto conn = run(db_->connect());
  EXPECT_EQ(error_of([&] { run(db_->read("t", 1)); }).code(), Errc::too_many_connections);
  EXPECT_EQ(error_of([&] { run(db_->connect()); }).code(), Errc::too_many_connections);
  run(conn->close());
  EXPECT_EQ(run(db_->read("t", 1)), std::nullopt);
}

TEST_F(PostgresTest, ASecondOperationOnABusyConnectionFailsAtOnce) {
  run(db_->create("t", row(R"({"a":1})")));
  auto conn = run(db_->connect());
  auto admin = lock_table("t");
  asio::cancellation_signal signal;
  auto blocked = start(conn->read("t", 1), signal);
  ASSERT_TRUE(eventually([&] { return waiting_on_locks() == 1; }));
  // Not run(): the loop has the blocked read's wait to run, so it would not stop.
  auto second = asio::co_spawn(ctx_, conn->read("t", 1), asio::use_future);
  ASSERT_TRUE(eventually(
      [&] { return second.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }));
  EXPECT_EQ(error_of([&] { second.get(); }).code(), Errc::operation_in_progress);
  admin->execute("ROLLBACK");
  ctx_.restart();
  ctx_.run();
  EXPECT_EQ(blocked.get(), row(R"({"a":1,"id":1})"));
  // The first operation was not disturbed, and the connection is still usable.
  EXPECT_EQ(run(conn->read("t", 1)), row(R"({"a":1,"id":1})"));
}

TEST_F(PostgresTest, CancellingStopsTheServerAndThePoolStaysUsable) {
  run(db_->create("t", row(R"({"a":1})")));
  auto admin = lock_table("t");
  asio::cancellation_signal signal;
  auto blocked = start(db_->read("t", 1), signal);
  ASSERT_TRUE(eventually([&] { return waiting_on_locks() == 1; }));
  signal.emit(asio::cancellation_type::terminal);
  ctx_.restart();
  ctx_.run();
  try {
    blocked.get();
    ADD_FAILURE() << "the cancelled read returned a value";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), asio::error::operation_aborted);
  }
  // The server stops the statement (PQcancel), though the lock is still held.
  EXPECT_TRUE(eventually([&] { return waiting_on_locks() == 0; }))
      << "the cancelled statement still waits on the server";
  admin->execute("ROLLBACK");
  EXPECT_EQ(run(db_->read("t", 1)), row(R"({"a":1,"id":1})"));
}

TEST_F(PostgresTest, ACancelledConnectionIsBroken) {
  run(db_->create("t", row(R"({"a":1})")));
  auto conn = run(db_->connect());
  auto admin = lock_table("t");
  asio::cancellation_signal signal;
  auto blocked = start(conn->query("SELECT * FROM t"), signal);
  ASSERT_TRUE(eventually([&] { return waiting_on_locks() == 1; }));
  signal.emit(asio::cancellation_type::terminal);
  ctx_.restart();
  ctx_.run();
  EXPECT_THROW(blocked.get(), boost::system::system_error);
  EXPECT_EQ(error_of([&] { run(conn->read("t", 1)); }).code(), Errc::connection_closed);
  EXPECT_TRUE(eventually([&] { return waiting_on_locks() == 0; }));
  admin->execute("ROLLBACK");
  EXPECT_EQ(db_->open_connections(), 0U);
}

TEST_F(PostgresTest, DestroyingTheDatabaseWithAnOperationInFlightIsSafe) {
  run(db_->create("t", row(R"({"a":1})")));
  auto admin = lock_table("t");
  {
    asio::io_context other;
    auto db = std::make_unique<PostgresDatabase>(other.get_executor(), options());
    auto blocked = asio::co_spawn(other, db->read("t", 1), asio::use_future);
    db.reset();  // the operation keeps what it uses
    for (int i = 0; i < 3000 && waiting_on_locks() == 0; ++i) {
      other.restart();
      other.poll();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_EQ(waiting_on_locks(), 1);
  }  // the loop is destroyed with the read suspended: its frame closes the connection
  EXPECT_TRUE(eventually([&] { return waiting_on_locks() == 0; }));
  admin->execute("ROLLBACK");
}

TEST_F(PostgresTest, AServerThatIsDownIsAClearErrorNotAHang) {
  const std::string empty =
      std::filesystem::temp_directory_path() / ("pgdb-no-server-" + std::to_string(getpid()));
  std::filesystem::create_directories(empty);
  pgdb::Options opts;
  opts.conninfo = "host=" + empty + " dbname=postgres connect_timeout=5";
  PostgresDatabase down(ctx_.get_executor(), opts);
  const auto e = error_of([&] { run(down.connect()); });
  EXPECT_EQ(e.code(), ErrorClass::connection_failure);
  EXPECT_THAT(e.diagnostics().server_message, HasSubstr(empty));
  EXPECT_EQ(error_of([&] { run(down.read("t", 1)); }).code(), ErrorClass::connection_failure);
  EXPECT_EQ(down.open_connections(), 0U);
  std::filesystem::remove_all(empty);
}

TEST_F(PostgresTest, ABackendKilledMidQueryFailsTheOperationAndThePoolRecovers) {
  run(db_->create("t", row(R"({"a":1})")));
  auto admin = lock_table("t");
  asio::cancellation_signal signal;
  auto blocked = start(db_->read("t", 1), signal);
  ASSERT_TRUE(eventually([&] { return waiting_on_locks() == 1; }));
  server_->execute("SELECT pg_terminate_backend(" + waiting_pid() + ")");
  ctx_.restart();
  ctx_.run();
  try {
    blocked.get();
    ADD_FAILURE() << "the read of a killed backend returned a value";
  } catch (const mockdb::DatabaseError& e) {
    EXPECT_TRUE(e.code() == ErrorClass::unavailable || e.code() == ErrorClass::connection_failure)
        << e.what();
    EXPECT_TRUE(mockdb::is_transient(e.code()));
  }
  admin->execute("ROLLBACK");
  EXPECT_EQ(db_->open_connections(), 0U);  // the dead connection was discarded
  EXPECT_EQ(run(db_->read("t", 1)), row(R"({"a":1,"id":1})"));
}

TEST_F(PostgresTest, CreateManyUsesPipelineMode) {
  mockdb::Rows rows;
  for (int i = 0; i < 50; ++i) rows.push_back(row(R"({"i":)" + std::to_string(i) + "}"));
  const auto ids = run(db_->create_many("batch", rows));
  ASSERT_EQ(ids.size(), 50U);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(ids.back(), 50);
  EXPECT_EQ(db_->pipelined_statements(), 51U);  // CREATE TABLE and 50 INSERTs
  EXPECT_EQ(run(db_->read("batch", 50)), row(R"({"i":49,"id":50})"));
  // The connection left pipeline mode: plain operations work on it.
  EXPECT_EQ(run(db_->query("SELECT * FROM batch WHERE i >= 48")).size(), 2U);

  auto opts = options();
  opts.pipeline = false;
  PostgresDatabase plain(ctx_.get_executor(), opts);
  EXPECT_EQ(run(plain.create_many("batch", rows)).back(), 100);
  EXPECT_EQ(plain.pipelined_statements(), 0U);
}

TEST_F(PostgresTest, ConcurrentFirstCreatesOfATableAllSucceed) {
  std::vector<std::future<mockdb::Id>> creates;
  creates.reserve(8);
  for (int i = 0; i < 8; ++i)
    creates.push_back(asio::co_spawn(ctx_, db_->create("race", row("{}")), asio::use_future));
  ctx_.restart();
  ctx_.run();
  std::vector<mockdb::Id> ids;
  ids.reserve(creates.size());
  for (auto& f : creates) ids.push_back(f.get());
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(ids.size(), 8U);
}

}  // namespace
