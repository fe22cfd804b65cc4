// Translating the workbook's query subset (mockdb/query.hpp) into SQLite SQL
// over the JSON `doc` column (internal to sqlite_db).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mockdb/query.hpp"
#include "mockdb/row.hpp"

namespace sqlitedb::detail {

/// A value bound to a statement parameter. Every literal and parameter of the
/// learner's query becomes one: nothing they wrote is ever pasted into SQL.
using Bound = std::variant<std::int64_t, double, std::string>;

/// A statement ready to prepare: `sql` numbers its parameters ?1, ?2, ...,
/// and `values[i]` is bound to ?(i+1).
struct Statement {
  std::string sql;
  std::vector<Bound> values;
};

/// `name` as an SQL identifier: in double quotes, with inner quotes doubled.
std::string quote_identifier(std::string_view name);

/// The SELECT that runs `query` with `params` (see translate.cpp for how each
/// rule of query.hpp is kept). Throws mockdb::DatabaseError with
/// Errc::bad_parameter for a missing `$n` or a bad LIMIT/OFFSET parameter.
Statement translate(const mockdb::Query& query, const mockdb::Params& params);

/// The name of the SQL function translate() uses to refuse a comparison
/// between types (it fails the statement with SQLITE_MISMATCH), and of the
/// one that ANDs conditions; register both on every connection (session.cpp).
inline constexpr const char* kTypeErrorFunction = "sqlitedb_type_error";
/// Kleene's AND of its arguments (0, 1 or NULL each).
inline constexpr const char* kAllFunction = "sqlitedb_all";

}  // namespace sqlitedb::detail
