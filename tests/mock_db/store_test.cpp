// Tests of the in-memory store: row operations, query evaluation (with the SQL semantics that
// PostgreSQL and SQLite share: NULL, NULLS FIRST/LAST, folded names, typed comparisons), the
// rows_scanned cost model and concurrent inserts.
#include "mockdb/store.hpp"

#include <gtest/gtest.h>

#include <boost/json/monotonic_resource.hpp>
#include <boost/system/system_error.hpp>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mockdb/errors.hpp"
#include "mockdb/query.hpp"

namespace mockdb {
namespace {

namespace json = boost::json;

Store::SelectResult run(const Store& store, const std::string& sql, const Params& params = {}) {
  return store.select(parse_query(sql), params);
}

std::vector<Id> ids_of(const Rows& rows) {
  std::vector<Id> ids;
  for (const Row& row : rows) ids.push_back(row.at("id").as_int64());
  return ids;
}

std::vector<Id> ids(const Store& store, const std::string& sql, const Params& params = {}) {
  return ids_of(run(store, sql, params).rows);
}

// The error code and message of the system_error that `f` throws.
template <typename F>
boost::system::system_error error_of(F f) {
  try {
    f();
  } catch (const QueryError&) {
    ADD_FAILURE() << "expected a plain system_error, got a QueryError";
    throw;
  } catch (const boost::system::system_error& e) {
    return e;
  }
  ADD_FAILURE() << "nothing thrown";
  return boost::system::system_error(boost::system::error_code());
}

// Fills table "t" with `n` rows with ids 1..n and n = id.
void fill(Store& store, int n) {
  for (int i = 1; i <= n; ++i) store.insert("t", Row{{"n", i}});
}

// --- Row operations --------------------------------------------------------------------------

TEST(Store, InsertAssignsIdsPerTable) {
  Store store;
  EXPECT_EQ(store.insert("a", Row{{"x", 1}}), 1);
  EXPECT_EQ(store.insert("a", Row{{"x", 2}}), 2);
  EXPECT_EQ(store.insert("b", Row{{"x", 3}}), 1);
  EXPECT_EQ(store.insert("a", Row{}), 3);
  EXPECT_EQ(store.size("a"), 3u);
  EXPECT_EQ(store.size("b"), 1u);
  EXPECT_EQ(store.size("nope"), 0u);
}

TEST(Store, InsertSetsTheIdFieldOverridingAnyGiven) {
  Store store;
  const Id id = store.insert("t", Row{{"id", 99}, {"title", "hi"}});
  EXPECT_EQ(id, 1);
  const std::optional<Row> row = store.find("t", 1);
  ASSERT_TRUE(row);
  EXPECT_EQ(*row, (Row{{"id", 1}, {"title", "hi"}}));
  EXPECT_FALSE(store.find("t", 99));
}

TEST(Store, IdsAreNotReusedAfterErase) {
  Store store;
  store.insert("t", Row{});
  store.insert("t", Row{});
  EXPECT_TRUE(store.erase("t", 2));
  EXPECT_EQ(store.insert("t", Row{}), 3);
}

TEST(Store, FindReturnsACopy) {
  Store store;
  store.insert("t", Row{{"v", 1}});
  std::optional<Row> row = store.find("t", 1);
  ASSERT_TRUE(row);
  (*row)["v"] = 2;
  EXPECT_EQ(store.find("t", 1)->at("v"), json::value(1));
  EXPECT_FALSE(store.find("t", 2));
  EXPECT_FALSE(store.find("other", 1));
}

TEST(Store, RowsOutliveTheCallersMemoryResource) {
  Store store;
  {
    json::monotonic_resource resource;
    Row row(&resource);
    row["text"] = "a string long enough not to fit in the small-string buffer";
    store.insert("t", std::move(row));
  }
  // The stored row was re-homed in the default resource (copies keep their source's resource).
  EXPECT_EQ(store.find("t", 1)->storage().get(), json::storage_ptr().get());
  EXPECT_EQ(store.find("t", 1)->at("text"),
            json::value("a string long enough not to fit in the small-string buffer"));
}

TEST(Store, UpdateMergesFieldsButNeverTheId) {
  Store store;
  store.insert("t", Row{{"a", 1}, {"b", 2}});
  EXPECT_TRUE(store.update("t", 1, Row{{"b", 20}, {"c", 30}, {"id", 7}}));
  EXPECT_EQ(*store.find("t", 1), (Row{{"a", 1}, {"b", 20}, {"id", 1}, {"c", 30}}));
  EXPECT_EQ(store.find("t", 1)->at("id"), json::value(1));
  EXPECT_FALSE(store.find("t", 7));
  EXPECT_FALSE(store.update("t", 2, Row{{"a", 1}}));
  EXPECT_FALSE(store.update("other", 1, Row{{"a", 1}}));
}

TEST(Store, Erase) {
  Store store;
  store.insert("t", Row{});
  EXPECT_TRUE(store.erase("t", 1));
  EXPECT_FALSE(store.erase("t", 1));
  EXPECT_FALSE(store.erase("other", 1));
  EXPECT_EQ(store.size("t"), 0u);
}

// --- Errors ----------------------------------------------------------------------------------

TEST(StoreSelect, UnknownTable) {
  Store store;
  const auto e = error_of([&] { run(store, "SELECT * FROM ghosts"); });
  EXPECT_EQ(e.code(), make_error_code(Errc::no_such_table));
  EXPECT_NE(std::string(e.what()).find("no such table 'ghosts'"), std::string::npos) << e.what();
}

TEST(StoreSelect, EmptiedTableStillExists) {
  Store store;
  store.insert("t", Row{});
  store.erase("t", 1);
  const auto result = run(store, "SELECT * FROM t");
  EXPECT_TRUE(result.rows.empty());
  EXPECT_EQ(result.rows_scanned, 0u);
}

TEST(StoreSelect, MissingParameters) {
  Store store;
  fill(store, 3);
  auto e = error_of([&] { run(store, "SELECT * FROM t WHERE n = $1 AND n < $3", {1, 2}); });
  EXPECT_EQ(e.code(), make_error_code(Errc::bad_parameter));
  EXPECT_NE(std::string(e.what()).find("query uses $3 but only 2 parameters were given"),
            std::string::npos)
      << e.what();
  e = error_of([&] { run(store, "SELECT * FROM t WHERE n = $1"); });
  EXPECT_NE(std::string(e.what()).find("query uses $1 but no parameters were given"),
            std::string::npos)
      << e.what();
  e = error_of([&] { run(store, "SELECT * FROM t LIMIT $2", {1}); });
  EXPECT_NE(std::string(e.what()).find("query uses $2 but only 1 parameter was given"),
            std::string::npos)
      << e.what();
  // Checked even when the table does not exist: binding comes first.
  e = error_of([&] { run(store, "SELECT * FROM ghosts WHERE n = $1"); });
  EXPECT_EQ(e.code(), make_error_code(Errc::bad_parameter));
}

TEST(StoreSelect, LimitAndOffsetParametersMustBeNonNegativeIntegers) {
  Store store;
  fill(store, 3);
  auto e = error_of([&] { run(store, "SELECT * FROM t LIMIT $1", {-1}); });
  EXPECT_EQ(e.code(), make_error_code(Errc::bad_parameter));
  EXPECT_NE(std::string(e.what()).find("LIMIT $1 must be an integer from 0 to "
                                       "9223372036854775807, but it is -1: pass a whole number "
                                       "of rows"),
            std::string::npos)
      << e.what();
  e = error_of([&] { run(store, "SELECT * FROM t LIMIT 1 OFFSET $1", {"2"}); });
  EXPECT_EQ(e.code(), make_error_code(Errc::bad_parameter));
  EXPECT_NE(std::string(e.what()).find("OFFSET $1 must be an integer from 0 to "),
            std::string::npos);
  e = error_of([&] { run(store, "SELECT * FROM t LIMIT $1", {1.5}); });
  EXPECT_EQ(e.code(), make_error_code(Errc::bad_parameter));
  // NULL means "no limit" in PostgreSQL but is an error in SQLite: refused.
  e = error_of([&] { run(store, "SELECT * FROM t LIMIT $1", {nullptr}); });
  EXPECT_EQ(e.code(), make_error_code(Errc::bad_parameter));
  EXPECT_EQ(ids(store, "SELECT * FROM t LIMIT $1 OFFSET $2", {std::uint64_t{1}, 1}),
            (std::vector<Id>{2}));
}

TEST(StoreSelect, ExtraParametersAreIgnored) {
  Store store;
  fill(store, 3);
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE n = $1", {2, "unused"}), (std::vector<Id>{2}));
}

// --- Comparisons -----------------------------------------------------------------------------

TEST(StoreSelect, EachOperatorOnIntegers) {
  Store store;
  fill(store, 5);
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE n = 3"), (std::vector<Id>{3}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE n != 3"), (std::vector<Id>{1, 2, 4, 5}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE n <> 3"), (std::vector<Id>{1, 2, 4, 5}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE n < 3"), (std::vector<Id>{1, 2}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE n <= 3"), (std::vector<Id>{1, 2, 3}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE n > 3"), (std::vector<Id>{4, 5}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE n >= 3"), (std::vector<Id>{3, 4, 5}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE n > 1 AND n < 5 AND n != 3"),
            (std::vector<Id>{2, 4}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE n > -1"), (std::vector<Id>{1, 2, 3, 4, 5}));
}

TEST(StoreSelect, NumbersCompareAcrossKinds) {
  Store store;
  store.insert("t", Row{{"v", std::int64_t{2}}});                            // 1
  store.insert("t", Row{{"v", 2.0}});                                        // 2
  store.insert("t", Row{{"v", std::uint64_t{2}}});                           // 3
  store.insert("t", Row{{"v", 2.5}});                                        // 4
  store.insert("t", Row{{"v", std::numeric_limits<std::uint64_t>::max()}});  // 5
  store.insert("t", Row{{"v", -3}});                                         // 6
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v = 2"), (std::vector<Id>{1, 2, 3}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v = 2.0"), (std::vector<Id>{1, 2, 3}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v = $1", {std::uint64_t{2}}),
            (std::vector<Id>{1, 2, 3}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v > 2"), (std::vector<Id>{4, 5}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v < 2.5"), (std::vector<Id>{1, 2, 3, 6}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v > 9223372036854775807"), (std::vector<Id>{5}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v < 0"), (std::vector<Id>{6}));
  // Large integers are compared exactly, not after rounding to double.
  Store big;
  big.insert("t", Row{{"v", std::int64_t{9007199254740993}}});  // 2^53 + 1
  EXPECT_TRUE(ids(big, "SELECT * FROM t WHERE v = 9007199254740992.0").empty());
  EXPECT_EQ(ids(big, "SELECT * FROM t WHERE v > 9007199254740992.0"), (std::vector<Id>{1}));
}

TEST(StoreSelect, Strings) {
  Store store;
  store.insert("t", Row{{"s", "apple"}});
  store.insert("t", Row{{"s", "banana"}});
  store.insert("t", Row{{"s", "Banana"}});
  store.insert("t", Row{{"s", "it's"}});
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE s = 'banana'"), (std::vector<Id>{2}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE s < 'b'"), (std::vector<Id>{1, 3}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE s >= 'banana'"), (std::vector<Id>{2, 4}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE s = 'it''s'"), (std::vector<Id>{4}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE s = $1", {"apple"}), (std::vector<Id>{1}));
}

TEST(StoreSelect, Booleans) {
  Store store;
  store.insert("t", Row{{"b", true}});
  store.insert("t", Row{{"b", false}});
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE b = TRUE"), (std::vector<Id>{1}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE b = false"), (std::vector<Id>{2}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE b != true"), (std::vector<Id>{2}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE b > FALSE"), (std::vector<Id>{1}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE b <= $1", {false}), (std::vector<Id>{2}));
}

TEST(StoreSelect, ArraysAndObjectsOnlyCompareForEquality) {
  Store store;
  store.insert("t", Row{{"v", json::array{1, 2}}});
  store.insert("t", Row{{"v", json::array{3}}});
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v = $1", {json::array{1, 2}}), (std::vector<Id>{1}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v != $1", {json::array{1, 2}}), (std::vector<Id>{2}));
  const auto e = error_of([&] { run(store, "SELECT * FROM t WHERE v < $1", {json::array{9}}); });
  EXPECT_EQ(e.code(), make_error_code(Errc::bad_parameter));
  EXPECT_NE(std::string(e.what()).find(
                "WHERE v < $1 orders an array, which has no order: compare it only with = or !="),
            std::string::npos)
      << e.what();
}

TEST(StoreSelect, ConditionsOnId) {
  Store store;
  fill(store, 10);
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE id = 4"), (std::vector<Id>{4}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE id > 7"), (std::vector<Id>{8, 9, 10}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE id >= 7.5"), (std::vector<Id>{8, 9, 10}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE id > 7.5"), (std::vector<Id>{8, 9, 10}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE id < 3"), (std::vector<Id>{1, 2}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE id <= 2.5"), (std::vector<Id>{1, 2}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE id > 2 AND id < 5"), (std::vector<Id>{3, 4}));
  EXPECT_TRUE(ids(store, "SELECT * FROM t WHERE id > 5 AND id < 3").empty());
  EXPECT_TRUE(ids(store, "SELECT * FROM t WHERE id = 4.5").empty());
  EXPECT_TRUE(ids(store, "SELECT * FROM t WHERE id > 9223372036854775807").empty());
  EXPECT_TRUE(ids(store, "SELECT * FROM t WHERE id > 18446744073709551615").empty());
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE id >= -9223372036854775808 AND id < 2"),
            (std::vector<Id>{1}));
  EXPECT_EQ(error_of([&] { run(store, "SELECT * FROM t WHERE id = '4'"); }).code(),
            make_error_code(Errc::type_mismatch));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE id != 1 AND id < 4"), (std::vector<Id>{2, 3}));
}

// --- Ordering, LIMIT and OFFSET ---------------------------------------------------------------

TEST(StoreSelect, DefaultOrderIsById) {
  Store store;
  for (int v : {3, 1, 2}) store.insert("t", Row{{"v", v}});
  EXPECT_EQ(ids(store, "SELECT * FROM t"), (std::vector<Id>{1, 2, 3}));
}

TEST(StoreSelect, OrderByMixedKinds) {
  Store store;
  store.insert("t", Row{{"v", "b"}});   // 1
  store.insert("t", Row{{"v", 10}});    // 2
  store.insert("t", Row{{"v", true}});  // 3
  store.insert("t", Row{{"v", "a"}});   // 4
  store.insert("t", Row{});             // 5
  // booleans < numbers < strings < arrays < objects, then NULL (PostgreSQL's default place).
  EXPECT_EQ(ids(store, "SELECT * FROM t ORDER BY v"), (std::vector<Id>{3, 2, 4, 1, 5}));
}

TEST(StoreSelect, OrderByStrings) {
  Store store;
  for (const char* name : {"carol", "alice", "bob"}) store.insert("t", Row{{"name", name}});
  const Rows rows = run(store, "SELECT * FROM t WHERE name != 'bob' ORDER BY name").rows;
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].at("name"), json::value("alice"));
  EXPECT_EQ(rows[1].at("name"), json::value("carol"));
}

TEST(StoreSelect, OrderByIdDescending) {
  Store store;
  fill(store, 5);
  EXPECT_EQ(ids(store, "SELECT * FROM t ORDER BY id DESC"), (std::vector<Id>{5, 4, 3, 2, 1}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE id < 4 ORDER BY id DESC LIMIT 2"),
            (std::vector<Id>{3, 2}));
  EXPECT_EQ(ids(store, "SELECT * FROM t ORDER BY id DESC LIMIT 2 OFFSET 1"),
            (std::vector<Id>{4, 3}));
}

TEST(StoreSelect, LimitAndOffset) {
  Store store;
  fill(store, 10);
  EXPECT_EQ(ids(store, "SELECT * FROM t LIMIT 3"), (std::vector<Id>{1, 2, 3}));
  EXPECT_EQ(ids(store, "SELECT * FROM t LIMIT 3 OFFSET 8"), (std::vector<Id>{9, 10}));
  EXPECT_EQ(ids(store, "SELECT * FROM t OFFSET 8"), (std::vector<Id>{9, 10}));
  EXPECT_TRUE(ids(store, "SELECT * FROM t OFFSET 10").empty());
  EXPECT_TRUE(ids(store, "SELECT * FROM t LIMIT 0").empty());
  EXPECT_EQ(ids(store, "SELECT * FROM t LIMIT 9223372036854775807 OFFSET 9"),
            (std::vector<Id>{10}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE n > 2 LIMIT 2 OFFSET 1"), (std::vector<Id>{4, 5}));
  EXPECT_EQ(ids(store, "SELECT * FROM t ORDER BY n DESC LIMIT 2 OFFSET 1"),
            (std::vector<Id>{9, 8}));
  EXPECT_TRUE(ids(store, "SELECT * FROM t ORDER BY n LIMIT 2 OFFSET 100").empty());
  EXPECT_EQ(ids(store, "SELECT * FROM t ORDER BY n LIMIT 9223372036854775807 OFFSET 8"),
            (std::vector<Id>{9, 10}));
}

TEST(StoreSelect, ReturnsCopies) {
  Store store;
  fill(store, 1);
  Rows rows = run(store, "SELECT * FROM t").rows;
  rows[0]["n"] = 100;
  EXPECT_EQ(store.find("t", 1)->at("n"), json::value(1));
  EXPECT_EQ(rows[0], (Row{{"n", 100}, {"id", 1}}));
}

// --- NULL: three-valued logic, as in PostgreSQL and SQLite -----------------------------------

// Fills table "t" with v = null, missing and 0 (ids 1 to 3), and n = 1 in each.
void fill_nulls(Store& store) {
  store.insert("t", Row{{"v", nullptr}, {"n", 1}});  // 1
  store.insert("t", Row{{"n", 1}});                  // 2: no "v" at all
  store.insert("t", Row{{"v", 0}, {"n", 1}});        // 3
}

TEST(StoreNull, ComparisonWithNullMatchesNothing) {
  Store store;
  fill_nulls(store);
  // `v = NULL` is UNKNOWN for every row, the null ones included: WHERE keeps only TRUE.
  for (const char* op : {"=", "!=", "<>", "<", "<=", ">", ">="}) {
    const std::string where = std::string("SELECT * FROM t WHERE v ") + op;
    EXPECT_TRUE(ids(store, where + " NULL").empty()) << where << " NULL";
    EXPECT_TRUE(ids(store, where + " $1", {nullptr}).empty()) << where << " $1 (null)";
    EXPECT_TRUE(ids(store, where + " NULL AND n = 1").empty()) << where << " NULL AND n = 1";
  }
  // A comparison with NULL can never be true, so nothing needs to be read, as a real planner
  // folds it to a constant false.
  EXPECT_EQ(run(store, "SELECT * FROM t WHERE v = NULL").rows_scanned, 0u);
  EXPECT_EQ(run(store, "SELECT * FROM t WHERE id = $1", {nullptr}).rows_scanned, 0u);
}

TEST(StoreNull, IsNullAndIsNotNull) {
  Store store;
  fill_nulls(store);
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v IS NULL"), (std::vector<Id>{1, 2}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v IS NOT NULL"), (std::vector<Id>{3}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v is not null AND n = 1"), (std::vector<Id>{3}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE n IS NOT NULL AND v IS NULL"),
            (std::vector<Id>{1, 2}));
  EXPECT_TRUE(ids(store, "SELECT * FROM t WHERE id IS NULL").empty());
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE id IS NOT NULL"), (std::vector<Id>{1, 2, 3}));
}

TEST(StoreNull, NotEqualSkipsNullAndMissingFields) {
  Store store;
  fill_nulls(store);
  // NULL != 5 is UNKNOWN, not TRUE: a missing field is NULL and matches no comparison.
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v != 5"), (std::vector<Id>{3}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v <> 5"), (std::vector<Id>{3}));
  EXPECT_TRUE(ids(store, "SELECT * FROM t WHERE v != 0").empty());
  EXPECT_TRUE(ids(store, "SELECT * FROM t WHERE missing != 'x'").empty());
  EXPECT_TRUE(ids(store, "SELECT * FROM t WHERE v < 1 AND v IS NULL").empty());
}

TEST(StoreNull, AndNeedsEveryConditionTrue) {
  // Kleene logic: TRUE AND UNKNOWN is UNKNOWN, which WHERE drops; FALSE AND UNKNOWN is FALSE.
  Store store;
  fill_nulls(store);
  EXPECT_TRUE(ids(store, "SELECT * FROM t WHERE n = 1 AND v > -1 AND id < 3").empty());
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE n = 1 AND v > -1"), (std::vector<Id>{3}));
}

// --- ORDER BY and NULLs ------------------------------------------------------------------------

// Fills table "t" with v = 2, 1, missing, 2, 1.5, null (ids 1 to 6).
void fill_sortable(Store& store) {
  store.insert("t", Row{{"v", 2}});        // 1
  store.insert("t", Row{{"v", 1}});        // 2
  store.insert("t", Row{});                // 3: missing
  store.insert("t", Row{{"v", 2}});        // 4
  store.insert("t", Row{{"v", 1.5}});      // 5
  store.insert("t", Row{{"v", nullptr}});  // 6
}

TEST(StoreOrderNulls, DefaultIsPostgresNullsLastAscendingFirstDescending) {
  Store store;
  fill_sortable(store);
  // PostgreSQL sorts NULL as larger than every value (SQLite as smaller: see query.hpp).
  EXPECT_EQ(ids(store, "SELECT * FROM t ORDER BY v"), (std::vector<Id>{2, 5, 1, 4, 3, 6}));
  EXPECT_EQ(ids(store, "SELECT * FROM t ORDER BY v ASC"), (std::vector<Id>{2, 5, 1, 4, 3, 6}));
  EXPECT_EQ(ids(store, "SELECT * FROM t ORDER BY v DESC"), (std::vector<Id>{3, 6, 1, 4, 5, 2}));
}

TEST(StoreOrderNulls, NullsFirstAndNullsLast) {
  Store store;
  fill_sortable(store);
  EXPECT_EQ(ids(store, "SELECT * FROM t ORDER BY v NULLS FIRST"),
            (std::vector<Id>{3, 6, 2, 5, 1, 4}));
  EXPECT_EQ(ids(store, "SELECT * FROM t ORDER BY v ASC NULLS LAST"),
            (std::vector<Id>{2, 5, 1, 4, 3, 6}));
  EXPECT_EQ(ids(store, "SELECT * FROM t ORDER BY v DESC NULLS LAST"),
            (std::vector<Id>{1, 4, 5, 2, 3, 6}));
  EXPECT_EQ(ids(store, "SELECT * FROM t ORDER BY v desc nulls first LIMIT 3"),
            (std::vector<Id>{3, 6, 1}));
}

TEST(StoreOrderBy, SeveralColumnsBreakTies) {
  Store store;
  store.insert("t", Row{{"a", 1}, {"b", "y"}});  // 1
  store.insert("t", Row{{"a", 2}, {"b", "x"}});  // 2
  store.insert("t", Row{{"a", 1}, {"b", "z"}});  // 3
  store.insert("t", Row{{"a", 1}});              // 4
  EXPECT_EQ(ids(store, "SELECT * FROM t ORDER BY a, b DESC"), (std::vector<Id>{4, 3, 1, 2}));
  EXPECT_EQ(ids(store, "SELECT * FROM t ORDER BY a DESC, b NULLS FIRST"),
            (std::vector<Id>{2, 4, 1, 3}));
  // The keyset-paging shape: a non-unique column, then the id to make the order total.
  EXPECT_EQ(ids(store, "SELECT * FROM t ORDER BY a DESC, id DESC LIMIT 3"),
            (std::vector<Id>{2, 4, 3}));
}

// --- Identifiers -------------------------------------------------------------------------------

TEST(StoreIdentifiers, UnquotedNamesAreFoldedToLowerCase) {
  Store store;
  fill(store, 3);
  EXPECT_EQ(ids(store, "SELECT * FROM T WHERE N >= 2 ORDER BY N DESC"), (std::vector<Id>{3, 2}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE ID = 2"), (std::vector<Id>{2}));
  // A quoted name is exact: "N" is not the row's "n", so it is NULL in every row.
  EXPECT_TRUE(ids(store, "SELECT * FROM t WHERE \"N\" = 2").empty());
  EXPECT_EQ(ids(store, "SELECT * FROM \"t\" WHERE \"n\" = 2"), (std::vector<Id>{2}));
}

TEST(StoreIdentifiers, TableNamesFromTheCppApiAreExact) {
  Store store;
  store.insert("Notes", Row{{"n", 1}});
  EXPECT_EQ(ids(store, "SELECT * FROM \"Notes\""), (std::vector<Id>{1}));
  const auto e = error_of([&] { run(store, "SELECT * FROM Notes"); });
  EXPECT_EQ(e.code(), make_error_code(Errc::no_such_table));
  EXPECT_NE(std::string(e.what()).find(
                "no such table 'notes' (unquoted names are folded to lower case); there is a "
                "table 'Notes': write \"Notes\" in the query, or name the table in lower case"),
            std::string::npos)
      << e.what();
}

// --- Values of different types -----------------------------------------------------------------

TEST(StoreTypes, ComparingDifferentTypesIsAnError) {
  Store store;
  store.insert("t", Row{{"v", 1}});
  store.insert("t", Row{{"v", "1"}});
  auto e = error_of([&] { run(store, "SELECT * FROM t WHERE v = '1'"); });
  EXPECT_EQ(e.code(), make_error_code(Errc::type_mismatch));
  EXPECT_NE(std::string(e.what()).find(
                "WHERE v = '1' compares a number with a string (row 1 of table 't' has v = 1); "
                "PostgreSQL rejects comparisons between types and SQLite converts one side, so "
                "the mock refuses them: compare v with a number, or store v as a string"),
            std::string::npos)
      << e.what();
  e = error_of([&] { run(store, "SELECT * FROM t WHERE v > $1", {true}); });
  EXPECT_NE(std::string(e.what()).find("WHERE v > $1 compares a number with a boolean"),
            std::string::npos)
      << e.what();
  e = error_of([&] { run(store, "SELECT * FROM t WHERE v >= 0 AND v != 9"); });
  EXPECT_NE(std::string(e.what()).find("row 2 of table 't' has v = '1'"), std::string::npos)
      << e.what();
  // Every condition is checked, even one after a condition that is already false for the row,
  // so whether the error shows does not depend on the order of the conditions.
  e = error_of([&] { run(store, "SELECT * FROM t WHERE v = 5 AND v != 'x'"); });
  EXPECT_NE(std::string(e.what()).find("WHERE v != 'x' compares a number with a string (row 1 "),
            std::string::npos)
      << e.what();
  // NULL belongs to every type: a null or missing field never causes the error.
  Store nulls;
  nulls.insert("t", Row{{"v", 1}});
  nulls.insert("t", Row{{"v", nullptr}});
  nulls.insert("t", Row{});
  EXPECT_EQ(ids(nulls, "SELECT * FROM t WHERE v = 1"), (std::vector<Id>{1}));
  EXPECT_EQ(ids(nulls, "SELECT * FROM t WHERE v = 'x' AND id > 1"), (std::vector<Id>{}));
}

TEST(StoreTypes, NanEqualsNanAndIsTheLargestNumber) {
  // PostgreSQL's rule for floating-point NaN, so that sorting and comparing agree.
  Store store;
  store.insert("t", Row{{"v", std::nan("")}});  // 1
  store.insert("t", Row{{"v", 1e300}});         // 2
  store.insert("t", Row{{"v", -1}});            // 3
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v = $1", {std::nan("")}), (std::vector<Id>{1}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v > 1"), (std::vector<Id>{1, 2}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v != 1e300"), (std::vector<Id>{1, 3}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v < $1", {std::nan("")}), (std::vector<Id>{2, 3}));
  EXPECT_EQ(ids(store, "SELECT * FROM t ORDER BY v DESC"), (std::vector<Id>{1, 2, 3}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE id <= $1", {std::nan("")}),
            (std::vector<Id>{1, 2, 3}));
  EXPECT_TRUE(ids(store, "SELECT * FROM t WHERE id >= $1", {std::nan("")}).empty());
}

TEST(StoreTypes, ExponentLiterals) {
  Store store;
  store.insert("t", Row{{"v", 25}});
  store.insert("t", Row{{"v", 0.5}});
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v = 2.5e1"), (std::vector<Id>{1}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v = 5E-1"), (std::vector<Id>{2}));
  EXPECT_EQ(ids(store, "SELECT * FROM t WHERE v = .5"), (std::vector<Id>{2}));
}

TEST(StoreSelect, LimitAndOffsetAboveTheBigintRangeAreErrors) {
  // Both databases hold LIMIT and OFFSET in a signed 64-bit integer and reject more.
  Store store;
  fill(store, 3);
  const auto e =
      error_of([&] { run(store, "SELECT * FROM t LIMIT $1", {std::uint64_t{1} << 63}); });
  EXPECT_EQ(e.code(), make_error_code(Errc::bad_parameter));
  EXPECT_NE(std::string(e.what()).find("LIMIT $1 must be an integer from 0 to "
                                       "9223372036854775807, but it is 9223372036854775808"),
            std::string::npos)
      << e.what();
  EXPECT_THROW(run(store, "SELECT * FROM t LIMIT 9223372036854775808"), QueryError);
  EXPECT_EQ(ids(store, "SELECT * FROM t LIMIT 9223372036854775807 OFFSET 2"), (std::vector<Id>{3}));
}

// --- rows_scanned ----------------------------------------------------------------------------

TEST(StoreRowsScanned, FullScans) {
  Store store;
  fill(store, 100);
  EXPECT_EQ(run(store, "SELECT * FROM t").rows_scanned, 100u);
  EXPECT_EQ(run(store, "SELECT * FROM t WHERE n = 50").rows_scanned, 100u);
  // ORDER BY a column other than id reads every row, LIMIT or not.
  EXPECT_EQ(run(store, "SELECT * FROM t ORDER BY n LIMIT 1").rows_scanned, 100u);
  EXPECT_EQ(run(store, "SELECT * FROM t WHERE id > 90 ORDER BY n").rows_scanned, 100u);
}

TEST(StoreRowsScanned, KeysetPagingCostsAPage) {
  Store store;
  fill(store, 2000);
  const std::string sql = "SELECT * FROM t WHERE id > $1 ORDER BY id LIMIT 10";
  auto first = run(store, sql, {0});
  EXPECT_EQ(ids_of(first.rows), (std::vector<Id>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(first.rows_scanned, 10u);
  auto deep = run(store, sql, {1000});
  EXPECT_EQ(ids_of(deep.rows).front(), 1001);
  EXPECT_EQ(deep.rows_scanned, 10u);
  auto last = run(store, sql, {1995});
  EXPECT_EQ(last.rows.size(), 5u);
  EXPECT_EQ(last.rows_scanned, 5u);
  // Without ORDER BY the result is in id order too, so the same shortcut applies.
  EXPECT_EQ(run(store, "SELECT * FROM t WHERE id >= 1500 LIMIT 10").rows_scanned, 10u);
  // Descending keyset paging walks down from the bound.
  auto down = run(store, "SELECT * FROM t WHERE id < $1 ORDER BY id DESC LIMIT 10", {1001});
  EXPECT_EQ(ids_of(down.rows).front(), 1000);
  EXPECT_EQ(down.rows_scanned, 10u);
  // A point lookup by id examines one row.
  EXPECT_EQ(run(store, "SELECT * FROM t WHERE id = 1234").rows_scanned, 1u);
}

TEST(StoreRowsScanned, OffsetPagingCostsEverySkippedRow) {
  Store store;
  fill(store, 2000);
  auto first = run(store, "SELECT * FROM t ORDER BY id LIMIT 10 OFFSET 0");
  EXPECT_EQ(first.rows_scanned, 10u);
  auto deep = run(store, "SELECT * FROM t ORDER BY id LIMIT 10 OFFSET 1000");
  EXPECT_EQ(ids_of(deep.rows).front(), 1001);
  EXPECT_EQ(deep.rows_scanned, 1010u);
  auto param = run(store, "SELECT * FROM t ORDER BY id LIMIT $1 OFFSET $2", {10, 1990});
  EXPECT_EQ(param.rows.size(), 10u);
  EXPECT_EQ(param.rows_scanned, 2000u);
}

TEST(StoreRowsScanned, NonMatchingRowsCountToo) {
  Store store;
  fill(store, 100);
  // Only even n match: finding 5 of them from id 11 on examines ids 11..20.
  for (int i = 1; i <= 100; ++i) store.update("t", i, Row{{"odd", i % 2 == 1}});
  auto r = run(store, "SELECT * FROM t WHERE id > 10 AND odd != TRUE LIMIT 5");
  EXPECT_EQ(ids_of(r.rows), (std::vector<Id>{12, 14, 16, 18, 20}));
  EXPECT_EQ(r.rows_scanned, 10u);
  EXPECT_EQ(run(store, "SELECT * FROM t LIMIT 0").rows_scanned, 0u);
}

TEST(StoreRowsScanned, TotalIsTheSumOverSelects) {
  Store store;
  fill(store, 50);
  EXPECT_EQ(store.total_rows_scanned(), 0u);
  run(store, "SELECT * FROM t");
  run(store, "SELECT * FROM t LIMIT 5");
  run(store, "SELECT * FROM t WHERE id = 3");
  EXPECT_EQ(store.total_rows_scanned(), 56u);
}

// --- Concurrency -----------------------------------------------------------------------------

TEST(StoreConcurrency, ParallelInsertsGetUniqueIds) {
  Store store;
  constexpr int per_thread = 5000;
  std::vector<Id> ids_a;
  std::vector<Id> ids_b;
  auto writer = [&store](std::vector<Id>& out, int thread) {
    out.reserve(per_thread);
    for (int i = 0; i < per_thread; ++i) out.push_back(store.insert("t", Row{{"thread", thread}}));
  };
  // A reader runs alongside to exercise the shared lock against the writers.
  std::thread reader([&store] {
    for (int i = 0; i < 200; ++i) {
      store.size("t");
      store.find("t", 1);
    }
  });
  std::thread a(writer, std::ref(ids_a), 0);
  std::thread b(writer, std::ref(ids_b), 1);
  a.join();
  b.join();
  reader.join();
  EXPECT_EQ(store.size("t"), 10000u);
  std::set<Id> all(ids_a.begin(), ids_a.end());
  all.insert(ids_b.begin(), ids_b.end());
  EXPECT_EQ(all.size(), 10000u);
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), 10000);
  const auto result = run(store, "SELECT * FROM t WHERE thread = 1");
  EXPECT_EQ(result.rows.size(), 5000u);
  EXPECT_EQ(result.rows_scanned, 10000u);
}

}  // namespace
}  // namespace mockdb
