// Tests of the query parser: every clause, every kind of literal, how names are folded, and
// the exact messages of malformed queries.
#include "mockdb/query.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <variant>

namespace mockdb {
namespace {

namespace json = boost::json;

// The QueryError thrown by parsing `sql`; fails the test if parsing succeeds.
QueryError parse_error(const std::string& sql) {
  try {
    parse_query(sql);
  } catch (const QueryError& e) {
    return e;
  }
  ADD_FAILURE() << "no QueryError for: " << sql;
  return {0, "", ""};
}

std::string message_of(const std::string& sql) { return parse_error(sql).what(); }

TEST(ParseQuery, MinimalQuery) {
  const Query q = parse_query("SELECT * FROM notes");
  EXPECT_EQ(q.table, "notes");
  EXPECT_TRUE(q.where.empty());
  EXPECT_TRUE(q.order_by.empty());
  EXPECT_FALSE(q.limit.has_value());
  EXPECT_FALSE(q.offset.has_value());
  EXPECT_EQ(q.parameter_count, 0u);
}

TEST(ParseQuery, EveryClause) {
  const Query q = parse_query(
      "SELECT * FROM notes WHERE owner = $1 AND id > $2 ORDER BY created DESC LIMIT 10 "
      "OFFSET 20;");
  Query expected;
  expected.table = "notes";
  expected.where = {{"owner", CompareOp::eq, std::size_t{0}},
                    {"id", CompareOp::gt, std::size_t{1}}};
  expected.order_by = {{"created", true, NullsOrder::unspecified}};
  expected.limit = RowCount{false, 10};
  expected.offset = RowCount{false, 20};
  expected.parameter_count = 2;
  EXPECT_EQ(q, expected);
}

TEST(ParseQuery, KeywordsAreCaseInsensitiveAndUnquotedNamesFoldToLowerCase) {
  const Query q = parse_query(
      "sElEcT * fRoM Notes wHeRe Title = 'Mixed Case' aNd b iS nOt NuLl oRdEr bY Id aSc nUlLs "
      "fIrSt lImIt 1 oFfSeT 2");
  EXPECT_EQ(q.table, "notes");
  ASSERT_EQ(q.where.size(), 2u);
  EXPECT_EQ(q.where[0].column, "title");
  EXPECT_EQ(q.where[0].operand,
            (std::variant<std::size_t, json::value>(json::value("Mixed Case"))));
  EXPECT_EQ(q.where[1].op, CompareOp::is_not_null);
  EXPECT_EQ(q.order_by, (std::vector<SortKey>{{"id", false, NullsOrder::first}}));
  EXPECT_EQ(q.limit, (RowCount{false, 1}));
  EXPECT_EQ(q.offset, (RowCount{false, 2}));
}

TEST(ParseQuery, QuotedIdentifiersAreExact) {
  const Query q = parse_query(
      "SELECT * FROM \"Notes\" WHERE \"Title\" = 1 AND \"limit\" = 2 AND \"say \"\"hi\"\"\" = 3 "
      "ORDER BY \"Id\" DESC");
  EXPECT_EQ(q.table, "Notes");
  ASSERT_EQ(q.where.size(), 3u);
  EXPECT_EQ(q.where[0].column, "Title");
  EXPECT_EQ(q.where[1].column, "limit");  // a reserved word, usable once quoted
  EXPECT_EQ(q.where[2].column, "say \"hi\"");
  EXPECT_EQ(q.order_by, (std::vector<SortKey>{{"Id", true, NullsOrder::unspecified}}));
  // Non-ASCII text is kept as it is; only unquoted ASCII letters are folded.
  EXPECT_EQ(parse_query("SELECT * FROM \"caf\xC3\xA9\"").table, "caf\xC3\xA9");
}

TEST(ParseQuery, WhitespaceIsFlexible) {
  const Query q = parse_query("  SELECT\t*\nFROM  t\r\nWHERE a>=1 AND b<>2 ;  ");
  EXPECT_EQ(q.table, "t");
  ASSERT_EQ(q.where.size(), 2u);
  EXPECT_EQ(q.where[0].op, CompareOp::ge);
  EXPECT_EQ(q.where[1].op, CompareOp::ne);
}

TEST(ParseQuery, EveryOperator) {
  const std::pair<const char*, CompareOp> cases[] = {
      {"=", CompareOp::eq},  {"!=", CompareOp::ne}, {"<>", CompareOp::ne}, {"<", CompareOp::lt},
      {"<=", CompareOp::le}, {">", CompareOp::gt},  {">=", CompareOp::ge}};
  for (const auto& [text, op] : cases) {
    const Query q = parse_query(std::string("SELECT * FROM t WHERE a ") + text + " 1");
    ASSERT_EQ(q.where.size(), 1u) << text;
    EXPECT_EQ(q.where[0].op, op) << text;
    // Without spaces too: `a<=1` is `a`, `<=`, `1`.
    const Query tight = parse_query(std::string("SELECT * FROM t WHERE a") + text + "1");
    EXPECT_EQ(tight.where[0].op, op) << text;
  }
}

json::value literal_of(const std::string& operand) {
  const Query q = parse_query("SELECT * FROM t WHERE a = " + operand);
  EXPECT_EQ(q.where.size(), 1u);
  const auto* value = std::get_if<json::value>(&q.where.at(0).operand);
  EXPECT_NE(value, nullptr) << operand;
  return value ? *value : json::value();
}

TEST(ParseQuery, IntegerLiterals) {
  EXPECT_EQ(literal_of("42"), json::value(std::int64_t{42}));
  EXPECT_TRUE(literal_of("42").is_int64());
  EXPECT_EQ(literal_of("-7"), json::value(std::int64_t{-7}));
  EXPECT_EQ(literal_of("0"), json::value(std::int64_t{0}));
  EXPECT_EQ(literal_of("-9223372036854775808"),
            json::value(std::numeric_limits<std::int64_t>::min()));
  // Too big for int64 but not for uint64, which JSON can hold.
  const json::value big = literal_of("18446744073709551615");
  ASSERT_TRUE(big.is_uint64());
  EXPECT_EQ(big.get_uint64(), std::numeric_limits<std::uint64_t>::max());
}

TEST(ParseQuery, DecimalLiterals) {
  const json::value d = literal_of("2.5");
  ASSERT_TRUE(d.is_double());
  EXPECT_DOUBLE_EQ(d.get_double(), 2.5);
  EXPECT_DOUBLE_EQ(literal_of("-0.125").get_double(), -0.125);
  // Exponents and a leading dot, as both databases write them; always a double.
  EXPECT_TRUE(literal_of("1e3").is_double());
  EXPECT_DOUBLE_EQ(literal_of("1e3").get_double(), 1000.0);
  EXPECT_DOUBLE_EQ(literal_of("2.5E-2").get_double(), 0.025);
  EXPECT_DOUBLE_EQ(literal_of("-4e+1").get_double(), -40.0);
  EXPECT_DOUBLE_EQ(literal_of(".5").get_double(), 0.5);
  EXPECT_DOUBLE_EQ(literal_of("-.5").get_double(), -0.5);
  EXPECT_DOUBLE_EQ(literal_of("3.").get_double(), 3.0);
}

TEST(ParseQuery, StringLiterals) {
  EXPECT_EQ(literal_of("'hello world'"), json::value("hello world"));
  EXPECT_EQ(literal_of("''"), json::value(""));
  EXPECT_EQ(literal_of("'it''s'"), json::value("it's"));
  EXPECT_EQ(literal_of("''''"), json::value("'"));
  // Keywords and symbols inside a string are just text.
  EXPECT_EQ(literal_of("'SELECT * FROM; $1'"), json::value("SELECT * FROM; $1"));
  EXPECT_EQ(literal_of("'caf\xC3\xA9'"), json::value("caf\xC3\xA9"));
}

TEST(ParseQuery, BooleanAndNullLiterals) {
  EXPECT_EQ(literal_of("TRUE"), json::value(true));
  EXPECT_EQ(literal_of("false"), json::value(false));
  EXPECT_TRUE(literal_of("Null").is_null());
}

TEST(ParseQuery, Parameters) {
  const Query q = parse_query("SELECT * FROM t WHERE a = $2 AND b < $1 LIMIT $3 OFFSET $4");
  ASSERT_EQ(q.where.size(), 2u);
  EXPECT_EQ(q.where[0].operand, (std::variant<std::size_t, json::value>(std::size_t{1})));
  EXPECT_EQ(q.where[1].operand, (std::variant<std::size_t, json::value>(std::size_t{0})));
  EXPECT_EQ(q.limit, (RowCount{true, 2}));
  EXPECT_EQ(q.offset, (RowCount{true, 3}));
  EXPECT_EQ(q.parameter_count, 4u);
}

TEST(ParseQuery, ParameterCountIsTheHighestParameter) {
  EXPECT_EQ(parse_query("SELECT * FROM t WHERE a = $7").parameter_count, 7u);
  EXPECT_EQ(parse_query("SELECT * FROM t WHERE a = $1 AND b = $1").parameter_count, 1u);
  EXPECT_EQ(parse_query("SELECT * FROM t WHERE a = $65535").parameter_count, 65535u);
}

TEST(ParseQuery, OrderByDefaultsToAscending) {
  const Query q = parse_query("SELECT * FROM t ORDER BY name");
  EXPECT_EQ(q.order_by, (std::vector<SortKey>{{"name", false, NullsOrder::unspecified}}));
  EXPECT_FALSE(q.order_by.at(0).nulls_first());  // PostgreSQL's default: NULLs last for ASC
}

TEST(ParseQuery, OrderBySeveralKeysWithNullsFirstOrLast) {
  const Query q = parse_query(
      "SELECT * FROM t ORDER BY a NULLS LAST, b DESC, c DESC NULLS LAST, d ASC NULLS FIRST,e");
  EXPECT_EQ(q.order_by, (std::vector<SortKey>{{"a", false, NullsOrder::last},
                                              {"b", true, NullsOrder::unspecified},
                                              {"c", true, NullsOrder::last},
                                              {"d", false, NullsOrder::first},
                                              {"e", false, NullsOrder::unspecified}}));
  EXPECT_FALSE(q.order_by[0].nulls_first());
  EXPECT_TRUE(q.order_by[1].nulls_first());  // PostgreSQL's default: NULLs first for DESC
  EXPECT_FALSE(q.order_by[2].nulls_first());
  EXPECT_TRUE(q.order_by[3].nulls_first());
  // NULLS, FIRST and LAST are not reserved (as in PostgreSQL): they can name columns.
  EXPECT_EQ(parse_query("SELECT * FROM t WHERE first = 1 ORDER BY last nulls last, nulls").order_by,
            (std::vector<SortKey>{{"last", false, NullsOrder::last},
                                  {"nulls", false, NullsOrder::unspecified}}));
}

TEST(ParseQuery, IsNullAndIsNotNull) {
  const Query q = parse_query("SELECT * FROM t WHERE a IS NULL AND b is not null AND c = NULL");
  const std::vector<Condition> expected = {{"a", CompareOp::is_null, json::value()},
                                           {"b", CompareOp::is_not_null, json::value()},
                                           {"c", CompareOp::eq, json::value()}};
  EXPECT_EQ(q.where, expected);
}

TEST(ParseQuery, OffsetWithoutLimitAndLimitZero) {
  const Query q = parse_query("SELECT * FROM t OFFSET 5");
  EXPECT_FALSE(q.limit.has_value());
  EXPECT_EQ(q.offset, (RowCount{false, 5}));
  EXPECT_EQ(parse_query("SELECT * FROM t LIMIT 0").limit, (RowCount{false, 0}));
  EXPECT_EQ(parse_query("SELECT * FROM t LIMIT 9223372036854775807").limit,
            (RowCount{false, kMaxRowCount}));
}

TEST(ParseQuery, IdentifiersMayHaveUnderscoresAndDigits) {
  const Query q = parse_query("SELECT * FROM _notes_2 WHERE created_at_1 = 1 ORDER BY x9");
  EXPECT_EQ(q.table, "_notes_2");
  EXPECT_EQ(q.where.at(0).column, "created_at_1");
  EXPECT_EQ(q.order_by.at(0).column, "x9");
}

// --- Malformed queries -----------------------------------------------------------------------

TEST(ParseQueryErrors, MisspelledKeyword) {
  EXPECT_EQ(message_of("SELECT * FORM notes"),
            "syntax error at position 9: expected FROM, found 'FORM'");
  const QueryError e = parse_error("SELECT * FORM notes");
  EXPECT_EQ(e.position(), 9u);
  EXPECT_EQ(e.expected(), "FROM");
  EXPECT_EQ(e.found(), "FORM");
  EXPECT_EQ(e.code(), make_error_code(Errc::query_syntax));
}

TEST(ParseQueryErrors, MissingTableName) {
  EXPECT_EQ(message_of("SELECT * FROM"),
            "syntax error at position 13: expected a table name, found end of input");
  EXPECT_EQ(parse_error("SELECT * FROM").found(), "");
}

TEST(ParseQueryErrors, ColumnListInsteadOfStar) {
  EXPECT_EQ(message_of("SELECT id FROM t"), "syntax error at position 7: expected '*', found 'id'");
}

TEST(ParseQueryErrors, EmptyQuery) {
  EXPECT_EQ(message_of(""), "syntax error at position 0: expected SELECT, found end of input");
  EXPECT_EQ(message_of("   "), "syntax error at position 3: expected SELECT, found end of input");
  EXPECT_EQ(message_of("DELETE FROM t"),
            "syntax error at position 0: expected SELECT, found 'DELETE'");
}

TEST(ParseQueryErrors, UnterminatedString) {
  EXPECT_EQ(message_of("SELECT * FROM t WHERE a = 'abc"),
            "syntax error at position 30: expected a closing ' for the string starting at "
            "position 26, found end of input");
  // A doubled quote is an escaped quote, not the end of the string.
  EXPECT_EQ(parse_error("SELECT * FROM t WHERE a = 'it''").position(), 31u);
}

TEST(ParseQueryErrors, BadNumbers) {
  EXPECT_EQ(message_of("SELECT * FROM t WHERE a = 12abc"),
            "syntax error at position 26: expected a number, found '12abc'");
  EXPECT_EQ(message_of("SELECT * FROM t WHERE a = 1.2.3"),
            "syntax error at position 26: expected a number, found '1.2.3'");
  EXPECT_EQ(message_of("SELECT * FROM t WHERE a = 1e"),
            "syntax error at position 26: expected a number, found '1e'");
  EXPECT_EQ(parse_error("SELECT * FROM t WHERE a = 1e+").found(), "1e+");
  EXPECT_EQ(parse_error("SELECT * FROM t WHERE a = 1e400").expected(),
            "a number within the range of a double");
  EXPECT_EQ(parse_error("SELECT * FROM t WHERE a = .").found(), ".");
  EXPECT_EQ(message_of("SELECT * FROM t WHERE a = 99999999999999999999"),
            "syntax error at position 26: expected an integer between -9223372036854775808 and "
            "18446744073709551615, found '99999999999999999999'");
  EXPECT_EQ(parse_error("SELECT * FROM t WHERE a = -9223372036854775809").found(),
            "-9223372036854775809");
}

TEST(ParseQueryErrors, TrailingGarbage) {
  EXPECT_EQ(message_of("SELECT * FROM t LIMIT 5 garbage"),
            "syntax error at position 24: expected OFFSET, ';' or end of input, found 'garbage'");
  EXPECT_EQ(message_of("SELECT * FROM t garbage"),
            "syntax error at position 16: expected WHERE, ORDER BY, LIMIT, OFFSET, ';' or end of "
            "input, found 'garbage'");
  EXPECT_EQ(message_of("SELECT * FROM t WHERE a = 1 OR b = 2"),
            "syntax error at position 28: expected AND, ORDER BY, LIMIT, OFFSET, ';' or end of "
            "input, found 'OR'");
  EXPECT_EQ(message_of("SELECT * FROM t ORDER BY a x"),
            "syntax error at position 27: expected ASC, DESC, NULLS, ',', LIMIT, OFFSET, ';' or "
            "end of input, found 'x'");
  EXPECT_EQ(message_of("SELECT * FROM t ORDER BY a DESC x"),
            "syntax error at position 32: expected NULLS, ',', LIMIT, OFFSET, ';' or end of "
            "input, found 'x'");
  EXPECT_EQ(message_of("SELECT * FROM t ORDER BY a NULLS LAST x"),
            "syntax error at position 38: expected ',', LIMIT, OFFSET, ';' or end of input, "
            "found 'x'");
  EXPECT_EQ(message_of("SELECT * FROM t OFFSET 1 LIMIT 2"),
            "syntax error at position 25: expected ';' or end of input, found 'LIMIT'");
  EXPECT_EQ(message_of("SELECT * FROM t; SELECT * FROM u"),
            "syntax error at position 17: expected end of input, found 'SELECT'");
  EXPECT_EQ(message_of("SELECT * FROM t;;"),
            "syntax error at position 16: expected end of input, found ';'");
}

TEST(ParseQueryErrors, BadParameters) {
  EXPECT_EQ(message_of("SELECT * FROM t WHERE a = $0"),
            "syntax error at position 26: expected a parameter from $1 to $65535, found '$0'");
  EXPECT_EQ(message_of("SELECT * FROM t WHERE a = $"),
            "syntax error at position 26: expected a parameter from $1 to $65535, found '$'");
  EXPECT_EQ(parse_error("SELECT * FROM t WHERE a = $x").found(), "$x");
  EXPECT_EQ(parse_error("SELECT * FROM t WHERE a = $1a").found(), "$1a");
  EXPECT_EQ(parse_error("SELECT * FROM t WHERE a = $65536").found(), "$65536");
  EXPECT_EQ(parse_error("SELECT * FROM t WHERE a = $99999999999999999999999").position(), 26u);
}

TEST(ParseQueryErrors, MissingOrWrongOperator) {
  EXPECT_EQ(message_of("SELECT * FROM t WHERE a 1"),
            "syntax error at position 24: expected a comparison operator (=, !=, <>, <, <=, >, "
            ">=) or IS, found '1'");
  EXPECT_EQ(parse_error("SELECT * FROM t WHERE a == 1").found(), "=");
  EXPECT_EQ(parse_error("SELECT * FROM t WHERE a ! 1").found(), "!");
  EXPECT_EQ(parse_error("SELECT * FROM t WHERE a LIKE 'x%'").found(), "LIKE");
}

TEST(ParseQueryErrors, MissingOperand) {
  EXPECT_EQ(message_of("SELECT * FROM t WHERE a ="),
            "syntax error at position 25: expected a parameter or a literal (number, 'string', "
            "TRUE, FALSE or NULL), found end of input");
  EXPECT_EQ(parse_error("SELECT * FROM t WHERE a = b").found(), "b");
  EXPECT_EQ(parse_error("SELECT * FROM t WHERE a = - 1").found(), "-");
  // A double-quoted word is a column name, not a string.
  EXPECT_EQ(parse_error("SELECT * FROM t WHERE a = \"x\"").found(), "\"x\"");
}

TEST(ParseQueryErrors, MissingColumn) {
  EXPECT_EQ(message_of("SELECT * FROM t WHERE"),
            "syntax error at position 21: expected a column name, found end of input");
  EXPECT_EQ(message_of("SELECT * FROM t WHERE a = 1 AND"),
            "syntax error at position 31: expected a column name, found end of input");
  EXPECT_EQ(message_of("SELECT * FROM t WHERE 1 = a"),
            "syntax error at position 22: expected a column name, found '1'");
}

TEST(ParseQueryErrors, IsWithoutNull) {
  EXPECT_EQ(message_of("SELECT * FROM t WHERE a IS 1"),
            "syntax error at position 27: expected NULL or NOT NULL, found '1'");
  EXPECT_EQ(message_of("SELECT * FROM t WHERE a IS NOT TRUE"),
            "syntax error at position 31: expected NULL, found 'TRUE'");
  EXPECT_EQ(parse_error("SELECT * FROM t WHERE a IS").found(), "");
  EXPECT_EQ(parse_error("SELECT * FROM t WHERE a NOT NULL").expected(),
            "a comparison operator (=, !=, <>, <, <=, >, >=) or IS");
}

TEST(ParseQueryErrors, NullsWithoutFirstOrLast) {
  EXPECT_EQ(message_of("SELECT * FROM t ORDER BY a NULLS"),
            "syntax error at position 32: expected FIRST or LAST, found end of input");
  EXPECT_EQ(parse_error("SELECT * FROM t ORDER BY a DESC NULLS LOW").found(), "LOW");
  EXPECT_EQ(message_of("SELECT * FROM t ORDER BY a,"),
            "syntax error at position 27: expected a column name, found end of input");
}

TEST(ParseQueryErrors, BadQuotedIdentifiers) {
  EXPECT_EQ(message_of("SELECT * FROM \"notes"),
            "syntax error at position 20: expected a closing \" for the name starting at "
            "position 14, found end of input");
  EXPECT_EQ(message_of("SELECT * FROM \"\""),
            "syntax error at position 14: expected a name of at least one character between the "
            "double quotes, found '\"\"'");
}

TEST(ParseQueryErrors, ReservedWordsAreNotNames) {
  EXPECT_EQ(message_of("SELECT * FROM WHERE"),
            "syntax error at position 14: expected a table name, found 'WHERE'");
  EXPECT_EQ(parse_error("SELECT * FROM t ORDER BY limit").expected(), "a column name");
  EXPECT_EQ(parse_error("SELECT * FROM t WHERE is = 1").expected(), "a column name");
  EXPECT_EQ(parse_error("SELECT * FROM not").expected(), "a table name");
}

TEST(ParseQueryErrors, OrderWithoutBy) {
  EXPECT_EQ(message_of("SELECT * FROM t ORDER name"),
            "syntax error at position 22: expected BY, found 'name'");
  EXPECT_EQ(message_of("SELECT * FROM t ORDER BY"),
            "syntax error at position 24: expected a column name, found end of input");
}

TEST(ParseQueryErrors, BadLimitAndOffset) {
  EXPECT_EQ(message_of("SELECT * FROM t LIMIT -1"),
            "syntax error at position 22: expected a row count from 0 to 9223372036854775807 or "
            "a parameter, found '-1'");
  // Both databases hold the count in a bigint: one more is an error there too.
  EXPECT_EQ(parse_error("SELECT * FROM t OFFSET 9223372036854775808").found(),
            "9223372036854775808");
  EXPECT_EQ(parse_error("SELECT * FROM t LIMIT NULL").found(), "NULL");
  EXPECT_EQ(parse_error("SELECT * FROM t LIMIT 1.5").found(), "1.5");
  EXPECT_EQ(parse_error("SELECT * FROM t LIMIT 'ten'").found(), "'ten'");
  EXPECT_EQ(parse_error("SELECT * FROM t LIMIT").found(), "");
  EXPECT_EQ(parse_error("SELECT * FROM t LIMIT 1 OFFSET x").position(), 31u);
}

TEST(ParseQueryErrors, UnexpectedCharacters) {
  EXPECT_EQ(message_of("SELECT * FROM t WHERE a @ 1"),
            "syntax error at position 24: expected a comparison operator (=, !=, <>, <, <=, >, "
            ">=) or IS, found '@'");
  EXPECT_EQ(parse_error("SELECT * FROM notes.x").found(), ".");
  // A multi-byte UTF-8 character is reported whole.
  EXPECT_EQ(parse_error("SELECT * FROM t WHERE \xC3\xA9 = 1").found(), "\xC3\xA9");
}

TEST(ParseQueryErrors, WhatIsTheBareMessage) {
  // system_error would append the category's message; QueryError's what() must not.
  const QueryError e(3, "X", "y");
  EXPECT_STREQ(e.what(), "syntax error at position 3: expected X, found 'y'");
  const boost::system::system_error& base = e;
  EXPECT_STREQ(base.what(), "syntax error at position 3: expected X, found 'y'");
}

}  // namespace
}  // namespace mockdb
