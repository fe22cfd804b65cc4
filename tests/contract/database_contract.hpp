// The contract every backend of mockdb::DatabaseService keeps: one typed GoogleTest suite,
// run unchanged against the mock, SQLite and PostgreSQL (one program per backend, each
// instantiating this suite with a backend type of its own).
//
// A backend type `B` provides:
//
//   static std::unique_ptr<mockdb::DatabaseService> open(asio::io_context& ctx,
//                                                        std::size_t max_connections);
//       A fresh, empty database whose pool holds at most `max_connections` connections.
//       Throws workbook::BackendUnavailable if the backend cannot run on this machine: the
//       test is then skipped with that message, or fails when CI=true.
//   static <a guard> block_writes(mockdb::DatabaseService& db, const std::string& table);
//       Until the returned guard (an object or a unique_ptr) is destroyed, the next write to
//       `table` (create, update, remove) does not complete: it waits (on a lock held by someone
//       else, for a real database) until it is cancelled or the blocker goes away. The table
//       exists.
//
// The suite is what a chapter may rely on: storage, the query language's meaning
// (mock_db/interface/include/mockdb/query.hpp), errors by condition (mockdb::ErrorClass,
// never by a backend's own code), the rules of a connection and of the pool
// (mockdb/database.hpp), and cancellation. It never reads a clock: every wait is for an
// event.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mockdb/database.hpp"
#include "mockdb/errors.hpp"
#include "mockdb/query.hpp"
#include "workbook/backends.hpp"
#include "workbook/run.hpp"

namespace contract {

namespace asio = boost::asio;
namespace json = boost::json;
using mockdb::ErrorClass;

/// The fixture: a fresh database per test, and helpers that run a coroutine to its end.
template <typename Backend>
class DatabaseContract : public testing::Test {
 protected:
  static constexpr std::size_t kMaxConnections = 4;

  void SetUp() override {
    try {
      db_ = Backend::open(ctx, kMaxConnections);
    } catch (const workbook::BackendUnavailable& e) {
      // A backend this build has but this machine cannot run (no PostgreSQL server): say so
      // and skip, except in CI, where a suite that did not run must not pass for one that did.
      if (workbook::running_in_ci()) {
        FAIL() << e.what() << "\n(CI=true: a backend that cannot run is a failure here)";
      }
      GTEST_SKIP() << e.what();
    }
  }

  mockdb::DatabaseService& db() { return *db_; }

  template <typename T>
  T run(asio::awaitable<T> task) {
    return workbook::run_to_completion(ctx, std::move(task));
  }
  void run(asio::awaitable<void> task) { workbook::run_to_completion(ctx, std::move(task)); }

  /// The error `task` fails with, or a default (no error) code if it succeeds.
  template <typename T>
  boost::system::error_code error_of(asio::awaitable<T> task) {
    try {
      run(std::move(task));
    } catch (const boost::system::system_error& e) {
      return e.code();
    }
    return {};
  }

  /// What an operation started by start() came to.
  template <typename T>
  struct Outcome {
    bool done = false;
    std::optional<T> value;
    boost::system::error_code error;
  };

  /// Starts `task` at once (up to its first suspension, as co_spawn dispatches it) and
  /// returns where its outcome will be; `signal`, if given, can cancel it.
  template <typename T>
  std::shared_ptr<Outcome<T>> start(asio::awaitable<T> task,
                                    asio::cancellation_signal* signal = nullptr) {
    auto outcome = std::make_shared<Outcome<T>>();
    auto handler = [outcome](const std::exception_ptr& e, T value) {
      outcome->done = true;
      try {
        if (e) std::rethrow_exception(e);
        outcome->value.emplace(std::move(value));
      } catch (const boost::system::system_error& x) {
        outcome->error = x.code();
      }
    };
    if (signal != nullptr) {
      asio::co_spawn(ctx, std::move(task), asio::bind_cancellation_slot(signal->slot(), handler));
    } else {
      asio::co_spawn(ctx, std::move(task), handler);
    }
    return outcome;
  }

  /// Runs the loop until `outcome` is there.
  template <typename T>
  void wait(const std::shared_ptr<Outcome<T>>& outcome) {
    run([outcome]() -> asio::awaitable<void> {
      while (!outcome->done) {
        co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
      }
    }());
  }

  /// Runs what is ready to run, without waiting: a blocked operation is then as far as it
  /// can get on its own.
  void run_ready() {
    ctx.poll();
    ctx.restart();
  }

  /// The ids of `rows`, in order: what most query tests compare.
  static std::vector<mockdb::Id> ids(const mockdb::Rows& rows) {
    std::vector<mockdb::Id> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back(row.at("id").to_number<mockdb::Id>());
    return out;
  }

  /// Runs `sql` with `params` and returns the ids of the rows it found.
  std::vector<mockdb::Id> query_ids(std::string sql, mockdb::Params params = {}) {
    return ids(run(db().query(std::move(sql), std::move(params))));
  }

  /// Five rows in table "t" (ids 1 to 5), with a number, a string, a boolean and a
  /// field that is missing or null in some rows:
  ///   id  n    s        b      opt
  ///   1   3    "pear"   true   1
  ///   2   1    "Apple"  false  (missing)
  ///   3   2.5  "apple"  true   null
  ///   4   2    "fig"    false  2
  ///   5   3    "date"   true   (missing)
  void load_rows() {
    run(db().create("t", {{"n", 3}, {"s", "pear"}, {"b", true}, {"opt", 1}}));
    run(db().create("t", {{"n", 1}, {"s", "Apple"}, {"b", false}}));
    run(db().create("t", {{"n", 2.5}, {"s", "apple"}, {"b", true}, {"opt", nullptr}}));
    run(db().create("t", {{"n", 2}, {"s", "fig"}, {"b", false}, {"opt", 2}}));
    run(db().create("t", {{"n", 3}, {"s", "date"}, {"b", true}}));
  }

  asio::io_context ctx;

 private:
  std::unique_ptr<mockdb::DatabaseService> db_;
};

TYPED_TEST_SUITE_P(DatabaseContract);

using Ids = std::vector<mockdb::Id>;

// ---------------------------------------------------------------- storage

TYPED_TEST_P(DatabaseContract, CreateAssignsIdsFromOnePerTable) {
  EXPECT_EQ(this->run(this->db().create("notes", {{"title", "a"}})), 1);
  EXPECT_EQ(this->run(this->db().create("notes", {{"title", "b"}})), 2);
  EXPECT_EQ(this->run(this->db().create("tags", {{"name", "x"}})), 1);
}

TYPED_TEST_P(DatabaseContract, ReadReturnsTheRowWithItsId) {
  const json::object row{{"title", "first"}, {"stars", 4},       {"ratio", 0.5},
                         {"done", false},    {"tags", {"a", 1}}, {"meta", {{"k", "v"}}},
                         {"none", nullptr}};
  const mockdb::Id id = this->run(this->db().create("notes", row));
  const auto read = this->run(this->db().read("notes", id));
  ASSERT_TRUE(read.has_value());
  json::object expected = row;
  expected["id"] = id;
  EXPECT_EQ(*read, expected) << json::serialize(*read);
}

TYPED_TEST_P(DatabaseContract, AnIdGivenToCreateIsReplaced) {
  const mockdb::Id id = this->run(this->db().create("notes", {{"id", 99}, {"title", "a"}}));
  EXPECT_EQ(id, 1);
  EXPECT_EQ(this->run(this->db().read("notes", 1))->at("id"), 1);
  EXPECT_FALSE(this->run(this->db().read("notes", 99)).has_value());
}

TYPED_TEST_P(DatabaseContract, ReadOfAMissingRowOrTableIsEmpty) {
  EXPECT_FALSE(this->run(this->db().read("nowhere", 1)).has_value());
  this->run(this->db().create("notes", {{"title", "a"}}));
  EXPECT_FALSE(this->run(this->db().read("notes", 2)).has_value());
  EXPECT_FALSE(this->run(this->db().update("nowhere", 1, {{"title", "b"}})));
  EXPECT_FALSE(this->run(this->db().remove("nowhere", 1)));
}

TYPED_TEST_P(DatabaseContract, UpdateMergesFieldsAndKeepsTheId) {
  const mockdb::Id id =
      this->run(this->db().create("notes", {{"title", "a"}, {"body", "text"}, {"n", 1}}));
  EXPECT_TRUE(
      this->run(this->db().update("notes", id, {{"title", "b"}, {"n", nullptr}, {"id", 7}})));
  const json::object expected{{"id", id}, {"title", "b"}, {"body", "text"}, {"n", nullptr}};
  EXPECT_EQ(*this->run(this->db().read("notes", id)), expected);
  EXPECT_FALSE(this->run(this->db().update("notes", id + 1, {{"title", "c"}})));
}

TYPED_TEST_P(DatabaseContract, RemoveDeletesOnce) {
  const mockdb::Id id = this->run(this->db().create("notes", {{"title", "a"}}));
  EXPECT_TRUE(this->run(this->db().remove("notes", id)));
  EXPECT_FALSE(this->run(this->db().read("notes", id)).has_value());
  EXPECT_FALSE(this->run(this->db().remove("notes", id)));
  EXPECT_EQ(this->run(this->db().create("notes", {{"title", "b"}})), id + 1)
      << "ids are not reused";
}

// ---------------------------------------------------------------- queries

TYPED_TEST_P(DatabaseContract, NumbersCompareByValueWhateverTheirKind) {
  this->load_rows();
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE n = 3"), (Ids{1, 5}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE n = 3.0"), (Ids{1, 5}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE n = $1", {2.0}), (Ids{4}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE n > $1", {2}), (Ids{1, 3, 5}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE n <= 2.5 AND n >= 2"), (Ids{3, 4}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE n != 3"), (Ids{2, 3, 4}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE n <> -1"), (Ids{1, 2, 3, 4, 5}));
}

TYPED_TEST_P(DatabaseContract, StringsCompareBytewise) {
  this->load_rows();
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE s = 'apple'"), (Ids{3}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE s = $1", {"Apple"}), (Ids{2}));
  // Bytewise, 'A' (65) < 'a' (97): "Apple" sorts before every lower-case word.
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE s < 'b'"), (Ids{2, 3}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t ORDER BY s"), (Ids{2, 3, 5, 4, 1}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE s = 'it''s'"), (Ids{}));
}

TYPED_TEST_P(DatabaseContract, BooleansAreNotNumbers) {
  this->load_rows();
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE b = TRUE"), (Ids{1, 3, 5}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE b = $1", {false}), (Ids{2, 4}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE b < TRUE"), (Ids{2, 4}));
  const auto rows = this->run(this->db().query("SELECT * FROM t WHERE id = 1"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].at("b").is_bool()) << "a boolean comes back as a boolean, not as 1";
}

TYPED_TEST_P(DatabaseContract, NullAndMissingFieldsFollowThreeValuedLogic) {
  this->load_rows();
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE opt IS NULL"), (Ids{2, 3, 5}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE opt IS NOT NULL"), (Ids{1, 4}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE opt != 1"), (Ids{4}))
      << "a comparison with NULL is unknown, so != skips the null and missing fields";
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE opt = NULL"), (Ids{}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE n = $1", {nullptr}), (Ids{}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE nosuchfield IS NULL"), (Ids{1, 2, 3, 4, 5}));
}

TYPED_TEST_P(DatabaseContract, OrderByPutsNullsWherePostgresDoesUnlessTold) {
  this->load_rows();
  EXPECT_EQ(this->query_ids("SELECT * FROM t ORDER BY opt"), (Ids{1, 4, 2, 3, 5}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t ORDER BY opt DESC"), (Ids{2, 3, 5, 4, 1}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t ORDER BY opt NULLS FIRST"), (Ids{2, 3, 5, 1, 4}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t ORDER BY opt DESC NULLS LAST"), (Ids{4, 1, 2, 3, 5}));
}

TYPED_TEST_P(DatabaseContract, OrderByBreaksTiesByIdAndTakesSeveralKeys) {
  this->load_rows();
  EXPECT_EQ(this->query_ids("SELECT * FROM t ORDER BY n DESC"), (Ids{1, 5, 3, 4, 2}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t ORDER BY b, n DESC"), (Ids{4, 2, 1, 5, 3}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t ORDER BY n DESC, id DESC"), (Ids{5, 1, 3, 4, 2}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t"), (Ids{1, 2, 3, 4, 5}));
}

TYPED_TEST_P(DatabaseContract, LimitAndOffsetPage) {
  this->load_rows();
  EXPECT_EQ(this->query_ids("SELECT * FROM t ORDER BY id LIMIT 2"), (Ids{1, 2}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t ORDER BY id LIMIT 2 OFFSET 2"), (Ids{3, 4}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t ORDER BY id LIMIT $1 OFFSET $2", {2, 4}), (Ids{5}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t ORDER BY id OFFSET 3"), (Ids{4, 5}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t LIMIT 0"), (Ids{}));
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE id > $1 ORDER BY id LIMIT 2", {3}), (Ids{4, 5}))
      << "keyset paging";
}

TYPED_TEST_P(DatabaseContract, NamesFoldToLowerCaseUnlessQuoted) {
  this->run(this->db().create("notes", {{"owner", 1}, {"Owner", 2}}));
  EXPECT_EQ(this->query_ids("SELECT * FROM Notes WHERE OWNER = 1"), (Ids{1}));
  EXPECT_EQ(this->query_ids("select * from notes where \"Owner\" = 2;"), (Ids{1}));
  EXPECT_EQ(this->query_ids("SELECT * FROM \"notes\" WHERE \"Owner\" = 1"), (Ids{}));
}

TYPED_TEST_P(DatabaseContract, ParametersAreValuesNeverSql) {
  this->run(this->db().create("notes", {{"title", "x' OR '1'='1"}}));
  this->run(this->db().create("notes", {{"title", "y"}}));
  EXPECT_EQ(this->query_ids("SELECT * FROM notes WHERE title = $1", {"y' OR '1'='1"}), (Ids{}));
  EXPECT_EQ(this->query_ids("SELECT * FROM notes WHERE title = $1", {"x' OR '1'='1"}), (Ids{1}));
}

// ---------------------------------------------------------------- errors

TYPED_TEST_P(DatabaseContract, ErrorsCompareEqualToTheirCondition) {
  this->load_rows();
  EXPECT_EQ(this->error_of(this->db().query("SELECT * FROM nowhere")),
            ErrorClass::undefined_object);
  EXPECT_EQ(this->error_of(this->db().query("SELECT * FORM t")), ErrorClass::syntax_error);
  EXPECT_EQ(this->error_of(this->db().query("SELECT * FROM t WHERE n = $2", {1})),
            ErrorClass::invalid_parameter)
      << "a missing parameter";
  EXPECT_EQ(this->error_of(this->db().query("SELECT * FROM t WHERE s = 5")),
            ErrorClass::invalid_parameter)
      << "a number compared with a string";
  EXPECT_EQ(this->error_of(this->db().query("SELECT * FROM t WHERE b = $1", {1})),
            ErrorClass::invalid_parameter)
      << "a boolean compared with a number";
  EXPECT_EQ(this->error_of(this->db().query("SELECT * FROM t LIMIT $1", {-1})),
            ErrorClass::invalid_parameter)
      << "a negative LIMIT";
  EXPECT_EQ(this->error_of(this->db().query("SELECT * FROM t WHERE n = 1")),
            boost::system::error_code{})
      << "the database is still usable after the errors above";
}

TYPED_TEST_P(DatabaseContract, AMalformedQueryNamesWhereItWentWrong) {
  this->load_rows();
  try {
    this->run(this->db().query("SELECT * FROM t WHERE n = = 1"));
    FAIL() << "expected an error";
  } catch (const mockdb::DatabaseError& e) {
    EXPECT_EQ(e.code(), ErrorClass::syntax_error);
    EXPECT_EQ(e.diagnostics().sqlstate, "42601");
    EXPECT_EQ(e.diagnostics().position, 26u);
  }
}

TYPED_TEST_P(DatabaseContract, AFailedStatementLeavesTheConnectionUsable) {
  this->load_rows();
  auto conn = this->run(this->db().connect());
  EXPECT_EQ(this->error_of(conn->query("SELECT * FROM nowhere")), ErrorClass::undefined_object);
  EXPECT_EQ(this->error_of(conn->query("SELECT * FROM t WHERE s > 1")),
            ErrorClass::invalid_parameter);
  EXPECT_EQ(this->ids(this->run(conn->query("SELECT * FROM t WHERE n < 2"))), (Ids{2}));
  this->run(conn->close());
}

// ---------------------------------------------------------------- connections and the pool

TYPED_TEST_P(DatabaseContract, AConnectionRunsOneOperationAtATime) {
  this->load_rows();
  auto conn = this->run(this->db().connect());
  auto first = this->start(conn->query("SELECT * FROM t"));  // in flight now
  auto second = this->start(conn->read("t", 1));
  this->wait(second);
  EXPECT_EQ(second->error, ErrorClass::misuse);
  this->wait(first);
  ASSERT_TRUE(first->value.has_value()) << first->error.message();
  EXPECT_EQ(first->value->size(), 5u) << "the refused operation did not disturb the first";
}

TYPED_TEST_P(DatabaseContract, AClosedConnectionRefusesOperations) {
  auto conn = this->run(this->db().connect());
  this->run(conn->create("notes", {{"title", "a"}}));
  this->run(conn->close());
  EXPECT_EQ(this->error_of(conn->read("notes", 1)), mockdb::Errc::connection_closed);
  this->run(conn->close());  // twice is harmless
  EXPECT_TRUE(this->run(this->db().read("notes", 1)).has_value()) << "the write was kept";
}

TYPED_TEST_P(DatabaseContract, ThePoolRefusesPastItsLimitAndRecovers) {
  const std::size_t limit = TestFixture::kMaxConnections;
  std::vector<std::unique_ptr<mockdb::Connection>> held;
  for (std::size_t i = 0; i < limit; ++i) held.push_back(this->run(this->db().connect()));
  EXPECT_EQ(this->error_of(this->db().read("notes", 1)), ErrorClass::too_many_connections);
  EXPECT_EQ(this->error_of(this->db().connect()), ErrorClass::too_many_connections);
  this->run(held.back()->close());
  held.pop_back();
  EXPECT_EQ(this->error_of(this->db().read("notes", 1)), boost::system::error_code{})
      << "a closed connection frees its place";
  held.clear();  // destroying connections frees their places too
  for (std::size_t i = 0; i < limit; ++i) held.push_back(this->run(this->db().connect()));
}

TYPED_TEST_P(DatabaseContract, ARefusedOperationStillLetsTheLoopRun) {
  std::vector<std::unique_ptr<mockdb::Connection>> held;
  for (std::size_t i = 0; i < TestFixture::kMaxConnections; ++i) {
    held.push_back(this->run(this->db().connect()));
  }
  std::shared_ptr<typename TestFixture::template Outcome<mockdb::Rows>> busy;
  bool other_ran = false;
  boost::system::error_code in_progress;
  boost::system::error_code refused;
  this->run([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    asio::post(ex, [&other_ran] { other_ran = true; });
    busy = this->start(held[0]->query("SELECT * FROM nowhere"));  // in flight now
    try {
      co_await held[0]->read("t", 1);
    } catch (const boost::system::system_error& e) {
      in_progress = e.code();
    }
    EXPECT_TRUE(other_ran)
        << "an operation refused by a busy connection completed without letting the event "
           "loop run: a caller that retries at once would spin on this thread, and nothing "
           "else, not even its deadline, would run";
    other_ran = false;
    asio::post(ex, [&other_ran] { other_ran = true; });
    try {
      co_await this->db().read("t", 1);
    } catch (const boost::system::system_error& e) {
      refused = e.code();
    }
    EXPECT_TRUE(other_ran) << "the same for an operation refused by a full pool";
  }());
  EXPECT_EQ(in_progress, ErrorClass::misuse);
  EXPECT_EQ(refused, ErrorClass::too_many_connections);
  this->wait(busy);
}

TYPED_TEST_P(DatabaseContract, ConcurrentOperationsWithinTheLimitAllSucceed) {
  const std::size_t limit = TestFixture::kMaxConnections;
  std::vector<mockdb::Id> created;
  // Rounds of `limit` creates at once, each round awaited before the next starts.
  for (int round = 0; round < 5; ++round) {
    std::vector<std::shared_ptr<typename TestFixture::template Outcome<mockdb::Id>>> pending;
    for (std::size_t i = 0; i < limit; ++i) {
      pending.push_back(this->start(this->db().create("t", {{"round", round}, {"i", i}})));
    }
    for (auto& p : pending) {
      this->wait(p);
      ASSERT_TRUE(p->value.has_value()) << p->error.message();
      created.push_back(*p->value);
    }
  }
  std::sort(created.begin(), created.end());
  EXPECT_EQ(std::adjacent_find(created.begin(), created.end()), created.end())
      << "every create got an id of its own";
  EXPECT_EQ(this->run(this->db().query("SELECT * FROM t")).size(), 5 * limit);
  EXPECT_EQ(this->query_ids("SELECT * FROM t WHERE round = 4 AND i = 0").size(), 1u);
}

// ---------------------------------------------------------------- cancellation

TYPED_TEST_P(DatabaseContract, ACancelledWriteTakesNoEffectAndBreaksItsConnection) {
  this->run(this->db().create("notes", {{"title", "kept"}}));
  auto conn = this->run(this->db().connect());
  {
    auto blocker = TypeParam::block_writes(this->db(), "notes");
    asio::cancellation_signal signal;
    auto write = this->start(conn->create("notes", {{"title", "cancelled"}}), &signal);
    this->run_ready();
    EXPECT_FALSE(write->done) << "the blocked write completed on its own";
    signal.emit(asio::cancellation_type::terminal);
    this->wait(write);
    EXPECT_EQ(write->error, asio::error::operation_aborted);
  }
  EXPECT_EQ(this->error_of(conn->read("notes", 1)), mockdb::Errc::connection_closed)
      << "a connection cancelled mid-operation is broken";
  EXPECT_EQ(this->ids(this->run(this->db().query("SELECT * FROM notes"))), (Ids{1}))
      << "the cancelled write had no effect";
  EXPECT_GT(this->run(this->db().create("notes", {{"title", "after"}})), 1)
      << "the database is usable after a cancellation";
}

TYPED_TEST_P(DatabaseContract, ACancelledDirectOperationFreesItsConnection) {
  this->run(this->db().create("notes", {{"title", "kept"}}));
  {
    auto blocker = TypeParam::block_writes(this->db(), "notes");
    asio::cancellation_signal signal;
    auto update = this->start(this->db().update("notes", 1, {{"title", "cancelled"}}), &signal);
    this->run_ready();
    EXPECT_FALSE(update->done) << "the blocked update completed on its own";
    signal.emit(asio::cancellation_type::terminal);
    this->wait(update);
    EXPECT_EQ(update->error, asio::error::operation_aborted);
  }
  // Every place in the pool is free again: as many connections as the limit open.
  std::vector<std::unique_ptr<mockdb::Connection>> held;
  for (std::size_t i = 0; i < TestFixture::kMaxConnections; ++i) {
    held.push_back(this->run(this->db().connect()));
  }
  held.clear();
  EXPECT_EQ(this->run(this->db().read("notes", 1))->at("title"), "kept")
      << "the cancelled update had no effect";
}

REGISTER_TYPED_TEST_SUITE_P(
    DatabaseContract, CreateAssignsIdsFromOnePerTable, ReadReturnsTheRowWithItsId,
    AnIdGivenToCreateIsReplaced, ReadOfAMissingRowOrTableIsEmpty, UpdateMergesFieldsAndKeepsTheId,
    RemoveDeletesOnce, NumbersCompareByValueWhateverTheirKind, StringsCompareBytewise,
    BooleansAreNotNumbers, NullAndMissingFieldsFollowThreeValuedLogic,
    OrderByPutsNullsWherePostgresDoesUnlessTold, OrderByBreaksTiesByIdAndTakesSeveralKeys,
    LimitAndOffsetPage, NamesFoldToLowerCaseUnlessQuoted, ParametersAreValuesNeverSql,
    ErrorsCompareEqualToTheirCondition, AMalformedQueryNamesWhereItWentWrong,
    AFailedStatementLeavesTheConnectionUsable, AConnectionRunsOneOperationAtATime,
    AClosedConnectionRefusesOperations, ThePoolRefusesPastItsLimitAndRecovers,
    ARefusedOperationStillLetsTheLoopRun, ConcurrentOperationsWithinTheLimitAllSucceed,
    ACancelledWriteTakesNoEffectAndBreaksItsConnection,
    ACancelledDirectOperationFreesItsConnection);

}  // namespace contract
