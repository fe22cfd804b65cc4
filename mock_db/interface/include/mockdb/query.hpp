// The query language of the mock database: a small SQL subset, parsed into a Query.
//
//   SELECT * FROM <table>
//     [WHERE <condition> [AND <condition> ...]]
//     [ORDER BY <column> [ASC|DESC] [NULLS FIRST|NULLS LAST] [, ...]]
//     [LIMIT <count>] [OFFSET <count>] [;]
//
//   <condition>  <column> {= | != | <> | < | <= | > | >=} <operand>
//                <column> IS [NOT] NULL
//   <operand>    $1, $2, ... | 42 | -7 | 2.5 | 2.5e3 | .5 | 'text' ('' for a quote) | TRUE |
//                FALSE | NULL
//   <count>      0 to 9223372036854775807, or a parameter holding one
//
// The rule for this language: a query the mock accepts means what it means in both PostgreSQL
// and SQLite, so a chapter teaches nothing a real database would contradict, and the same
// query can be run against both (the contract suite does). Where the two databases disagree,
// the mock either follows PostgreSQL and lets the query say what it wants (NULLS FIRST/LAST),
// or refuses the query. What is left over is listed under "Differences" below.
//
// Names. Keywords are case-insensitive. Unquoted identifiers (table and column names) are
// folded to lower case, as PostgreSQL does, so `FROM Notes WHERE Owner = 1` reads table
// "notes" and field "owner". A double-quoted identifier ("Owner", "limit"; "" for a quote
// inside) is kept exactly as written. Names given through the C++ API (a table passed to
// create()/read()/..., the keys of a Row) are never folded: they are exact, like quoted
// identifiers. So use lower-case table names and row keys, as every chapter does; a row key
// with capitals is reachable only with a quoted identifier, and a table created as "Notes"
// only as FROM "Notes" (the no-such-table error names such a near miss).
//
// NULL. A null field and a missing field are both NULL. Comparisons follow SQL's three-valued
// logic: any comparison with NULL (`= NULL`, `!= NULL`, `v != 5` on a row without v, `= $1`
// with a null parameter) is UNKNOWN, and WHERE keeps a row only if every condition is TRUE
// (AND is Kleene's: FALSE AND UNKNOWN is FALSE, TRUE AND UNKNOWN is UNKNOWN). Test for NULL
// with IS NULL / IS NOT NULL. A condition compared with a NULL operand can never hold, so the
// query returns nothing without reading a row, as a real planner folds it away.
//
// Types. Rows are JSON, so the mock has no column types; it checks each comparison instead.
// Numbers compare numerically whatever their JSON kind (2 = 2.0, and exactly: a large integer
// is not rounded to a double), strings bytewise, booleans with FALSE < TRUE. Comparing values
// of different types (a number with a string, a boolean with a number) is an error,
// Errc::type_mismatch (SQLSTATE 42883), naming the condition and the row: PostgreSQL rejects such a
// comparison and SQLite converts one side by rules of its own, so no answer is portable. NULL
// has every type and never causes the error. JSON arrays and objects support only = and !=.
// NaN (only a double parameter or row value can hold one) is PostgreSQL's: equal to itself,
// greater than every other number.
//
// ORDER BY sorts by each key in turn; rows that tie on every key come in id order. Without
// NULLS FIRST/LAST, NULL sorts as PostgreSQL sorts it: as larger than every value, so last
// for ASC and first for DESC. SQLite's default is the opposite (NULL smallest): a query whose
// result depends on where NULLs go must say NULLS FIRST or NULLS LAST, which both databases
// accept (SQLite since 3.30). Without ORDER BY, rows come in id order.
//
// LIMIT and OFFSET take 0 to 9223372036854775807 (a bigint, the range of both databases); a
// negative, fractional, null or larger count is an error (Errc::query_syntax for a literal,
// Errc::bad_parameter for a parameter).
//
// Differences from PostgreSQL and SQLite that remain (a query relying on any of them is not
// portable; chapters must not):
//  1. Row order among ties, and without ORDER BY, is id order. Real databases promise no order
//     then (a plan change or a concurrent write can reorder): end ORDER BY with a unique
//     column (`ORDER BY created DESC, id DESC`) when the order matters.
//  2. NULL's default place in ORDER BY is PostgreSQL's; SQLite puts NULLs first for ASC and
//     last for DESC. Say NULLS FIRST or NULLS LAST.
//  3. Unknown columns are NULL, not an error: both databases reject a column that is not in
//     the table; the mock has no schema, so a misspelt column silently matches no comparison.
//  4. Comparing different types is an error here. PostgreSQL accepts a quoted literal for a
//     number column (`n = '5'` reads '5' as 5), and so does SQLite for a column of numeric
//     affinity; write the literal with the field's type instead. Booleans are SQLite's
//     integers 1 and 0, so `b = 1` works there but is an error here and in PostgreSQL.
//  5. The mock notices a type mismatch only in a row it reads: a mismatch in a row it never
//     reads (an empty table, rows outside the id range of the conditions, rows after LIMIT is
//     reached) goes unreported. So do the workbook's real backends, which store rows as JSON
//     (postgres_db, sqlite_db). Within a row the mock tests every condition; PostgreSQL may
//     stop at the first that is FALSE, and reorders them as its planner likes, so
//     `WHERE z = 1 AND n = 5` on a row where z is 2 and n is a string is an error here and in
//     SQLite, and none in PostgreSQL (seen: postgres_db's tests). Never rely on the error.
//  6. Strings compare bytewise (SQLite's BINARY collation, PostgreSQL's "C"). PostgreSQL's
//     default collation is usually a language's (en_US.UTF-8), where 'apple' < 'Banana'; the
//     mock says 'Banana' < 'apple'. Sort mixed-case text only where the order does not matter.
//  7. Quoted identifiers are exact, as in PostgreSQL; SQLite ignores case even in quoted
//     names, and reads a double-quoted name that matches no column as a string literal. Do
//     not rely on two names that differ only in case.
//  8. Decimal literals (2.5, 1e3) are doubles, as in SQLite. PostgreSQL reads them as exact
//     numerics: against a double precision column they become doubles too, but against a
//     numeric column they stay exact (0.1 is then exactly one tenth, which no double is). An
//     integer literal above 9223372036854775807 is an exact integer here, a double in SQLite
//     and a numeric in PostgreSQL.
//  9. ORDER BY a field holding values of several types (possible only in a JSON row) sorts
//     booleans < numbers < strings < arrays < objects. PostgreSQL cannot hold such a column;
//     SQLite sorts numbers before text, but stores booleans as the numbers 0 and 1. JSON
//     arrays and objects, which neither database holds as plain values, are equal when their
//     JSON is (so [1] != [1.0]).
// 10. OFFSET without LIMIT is accepted, as in PostgreSQL; SQLite requires a LIMIT first (write
//     LIMIT -1 there, which the mock in turn rejects). OFFSET before LIMIT is rejected, as in
//     SQLite (PostgreSQL accepts both orders).
// 11. Only ASCII letters, digits and '_' make an unquoted identifier (PostgreSQL also allows
//     '$' and non-ASCII letters), and names are not truncated (PostgreSQL cuts them at 63
//     bytes).
// 12. A minus sign must touch its number (`-1`, not `- 1`): there is no unary minus operator.
// 13. There is no OR, NOT, parentheses, column list, IN, LIKE, BETWEEN or expression: the
//     subset is what the chapters need. NaN never comes from SQLite, which stores it as NULL.
// 14. A table exists from the first row created in it; querying it before that is an error
//     (Errc::no_such_table), where a real database only needs CREATE TABLE to have run.
// 15. A number keeps its JSON kind here: 2.0 written is a double read back. PostgreSQL's jsonb
//     keeps the number, not its spelling, and hands 2.0 back as the integer 2; compare
//     numbers with to_number<double>() (or as_double() only after is_double()), never by
//     kind. For the same reason PostgreSQL finds [1] = [1.0] where the mock and SQLite do not.
// The contract suite (tests/contract) runs the queries every backend must answer alike on the
// mock, SQLite and PostgreSQL; docs/backends.md says how the real backends store and
// translate.
#pragma once

#include <boost/json/value.hpp>
#include <boost/system/system_error.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mockdb/errors.hpp"

namespace mockdb {

/// The test a WHERE condition applies to its column.
enum class CompareOp {
  eq,           ///< `=`
  ne,           ///< `!=` or `<>`
  lt,           ///< `<`
  le,           ///< `<=`
  gt,           ///< `>`
  ge,           ///< `>=`
  is_null,      ///< `IS NULL`: true for a null or missing field (the operand is unused).
  is_not_null,  ///< `IS NOT NULL` (the operand is unused).
};

/// One `<column> <op> <operand>` (or `<column> IS [NOT] NULL`) condition of a WHERE clause.
struct Condition {
  /// The column (JSON field) tested: folded to lower case unless it was quoted. A row without
  /// it holds NULL there.
  std::string column;
  /// How the column is tested.
  CompareOp op = CompareOp::eq;
  /// The 0-based index of a parameter (`$1` is 0), or a literal value; a null literal for
  /// IS [NOT] NULL.
  std::variant<std::size_t, boost::json::value> operand;

  /// Memberwise equality, handy in tests.
  friend bool operator==(const Condition&, const Condition&) = default;
};

/// Where ORDER BY puts NULLs (null and missing fields) for one sort key.
enum class NullsOrder {
  unspecified,  ///< Not said: as PostgreSQL, NULL is larger than any value (last for ASC).
  first,        ///< `NULLS FIRST`
  last,         ///< `NULLS LAST`
};

/// One `<column> [ASC|DESC] [NULLS FIRST|LAST]` key of an ORDER BY clause.
struct SortKey {
  /// The column (JSON field) sorted on: folded to lower case unless it was quoted.
  std::string column;
  /// True for DESC.
  bool descending = false;
  /// Where NULLs go.
  NullsOrder nulls = NullsOrder::unspecified;

  /// True if NULLs come before the other values under this key.
  bool nulls_first() const noexcept {
    return nulls == NullsOrder::first || (nulls == NullsOrder::unspecified && descending);
  }

  /// Memberwise equality, handy in tests.
  friend bool operator==(const SortKey&, const SortKey&) = default;
};

/// The number of rows a LIMIT or OFFSET clause names: a literal, or a `$n` parameter that
/// holds it when the query runs.
struct RowCount {
  /// True if the count is a parameter; `value` is then its 0-based index.
  bool is_parameter = false;
  /// The literal count (at most 9223372036854775807), or the 0-based index of the parameter
  /// (`$1` is 0).
  std::uint64_t value = 0;

  /// Memberwise equality, handy in tests.
  friend bool operator==(const RowCount&, const RowCount&) = default;
};

/// The largest LIMIT or OFFSET: both databases hold them in a signed 64-bit integer.
inline constexpr std::uint64_t kMaxRowCount = 9223372036854775807u;

/// A parsed SELECT statement.
struct Query {
  /// The table the rows come from: folded to lower case unless it was quoted.
  std::string table;
  /// The WHERE conditions; a row matches when every one of them is TRUE.
  std::vector<Condition> where;
  /// The ORDER BY keys, most significant first; without any, rows come in id order.
  std::vector<SortKey> order_by;
  /// The LIMIT, if any.
  std::optional<RowCount> limit;
  /// The OFFSET, if any.
  std::optional<RowCount> offset;
  /// The highest `$n` the query uses (0 if it uses none): how many parameters it needs.
  std::size_t parameter_count = 0;

  /// Memberwise equality, handy in tests.
  friend bool operator==(const Query&, const Query&) = default;
};

/// Thrown by parse_query for malformed input; code() is Errc::query_syntax.
///
/// what() reads `syntax error at position N: expected X, found 'Y'` (or `found end of input`),
/// where N is the 0-based character position of the offending text. Its diagnostics() carry
/// the same text, SQLSTATE 42601 and the position, as a server's would.
class QueryError : public DatabaseError {
 public:
  /// Builds the error; an empty `found` means the query ended where more was expected.
  QueryError(std::size_t position, std::string expected, std::string found);

  /// The full message (without the error category's text that system_error would append).
  const char* what() const noexcept override;
  /// The 0-based character position of the offending text in the query.
  std::size_t position() const noexcept;
  /// What the parser was looking for, e.g. "FROM" or "a table name".
  const std::string& expected() const noexcept;
  /// The offending text as written in the query; empty at end of input.
  const std::string& found() const noexcept;

 private:
  std::size_t position_;
  std::string expected_;
  std::string found_;
  std::string message_;
};

/// Parses one SELECT statement (grammar and meaning at the top of this file). Keywords are
/// case-insensitive; unquoted identifiers are folded to lower case, quoted ones kept exact.
/// Throws QueryError if `sql` is not a well-formed query.
Query parse_query(std::string_view sql);

}  // namespace mockdb
