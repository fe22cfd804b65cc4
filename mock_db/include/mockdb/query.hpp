// The query language of the mock database: a small SQL subset, parsed into a Query.
//
// SELECT * FROM <table> [WHERE <col> <op> <operand> [AND ...]] [ORDER BY <col> [ASC|DESC]]
// [LIMIT <n>] [OFFSET <m>] [;] -- operands are literals or $1, $2, ... parameters.
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

/// A comparison operator of a WHERE condition.
enum class CompareOp {
  eq,  ///< `=`
  ne,  ///< `!=` or `<>`
  lt,  ///< `<`
  le,  ///< `<=`
  gt,  ///< `>`
  ge,  ///< `>=`
};

/// One `<column> <op> <operand>` condition of a WHERE clause.
struct Condition {
  /// The column (JSON field) compared; a row without it compares as null.
  std::string column;
  /// How the column is compared with the operand.
  CompareOp op = CompareOp::eq;
  /// The 0-based index of a parameter (`$1` is 0), or a literal value.
  std::variant<std::size_t, boost::json::value> operand;

  /// Memberwise equality, handy in tests.
  friend bool operator==(const Condition&, const Condition&) = default;
};

/// A LIMIT or OFFSET amount: a literal count, or a parameter holding one.
struct Bound {
  /// True if the amount is a parameter; `value` is then its 0-based index.
  bool is_parameter = false;
  /// The literal count, or the 0-based index of the parameter (`$1` is 0).
  std::uint64_t value = 0;

  /// Memberwise equality, handy in tests.
  friend bool operator==(const Bound&, const Bound&) = default;
};

/// A parsed SELECT statement.
struct Query {
  /// The table the rows come from.
  std::string table;
  /// The WHERE conditions; a row matches when all of them hold.
  std::vector<Condition> where;
  /// The ORDER BY column; without one, rows come in id order.
  std::optional<std::string> order_by;
  /// True for ORDER BY ... DESC.
  bool descending = false;
  /// The LIMIT amount, if any.
  std::optional<Bound> limit;
  /// The OFFSET amount, if any.
  std::optional<Bound> offset;
  /// The highest `$n` the query uses (0 if it uses none): how many parameters it needs.
  std::size_t parameter_count = 0;

  /// Memberwise equality, handy in tests.
  friend bool operator==(const Query&, const Query&) = default;
};

/// Thrown by parse_query for malformed input; code() is Errc::query_syntax.
///
/// what() reads `syntax error at position N: expected X, found 'Y'` (or `found end of input`),
/// where N is the 0-based character position of the offending text.
class QueryError : public boost::system::system_error {
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

/// Parses one SELECT statement. Keywords are case-insensitive, identifiers are not.
/// Throws QueryError if `sql` is not a well-formed query.
Query parse_query(std::string_view sql);

}  // namespace mockdb
