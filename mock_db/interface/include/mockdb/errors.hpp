// Error codes of the database interface, the conditions they belong to, and
// the server's diagnostics.
//
// Every failed database operation completes with a boost::system::error_code
// (thrown as mockdb::DatabaseError, a boost::system::system_error, when the
// caller awaits with asio::use_awaitable). Codes differ by backend: the mock's
// are mockdb::Errc; SQLite's result codes and PostgreSQL's SQLSTATEs will be
// codes of categories of their own. What code is portable is the *condition*
// (mockdb::ErrorClass): every backend's category maps each of its codes onto
// one, so `ec == ErrorClass::connection_failure` and is_transient(ec) mean the
// same on every backend. The mock's messages are written for learners: they
// say what happened and, where it helps, what to do about it.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <type_traits>

namespace mockdb {

/// What went wrong in a mock database operation.
enum class Errc {
  too_many_connections = 1,  ///< The connection limit was reached.
  unavailable,               ///< The database is in an outage window.
  connection_reset,          ///< The connection broke mid-operation (a fault plan's doing).
  query_syntax,              ///< A query could not be parsed (see QueryError).
  no_such_table,             ///< A query named a table that was never written.
  bad_parameter,             ///< A `$n` parameter is missing or of the wrong type.
  permission_denied,         ///< A permanent failure: retrying cannot help.
  connection_closed,         ///< The connection was closed, or broken by an earlier failure.
  operation_in_progress,     ///< A second operation started on a busy connection.
  type_mismatch,             ///< A query compares values of different types.
  /// The caller's deadline passed before the operation completed; the
  /// operation was cancelled. Raised by client code with a timeout (the
  /// database itself never hangs up on a slow operation), so that a timeout
  /// is a typed error a caller can test for, not a string.
  timed_out,
};

/// What kind of failure an error is, whichever backend reported it. SQLSTATE
/// classes and SQLite result codes map onto these (see each value).
enum class ErrorClass {
  /// The connection failed or is gone (SQLSTATE class 08; SQLITE_IOERR,
  /// SQLITE_CANTOPEN). Transient: a fresh connection may succeed.
  connection_failure = 1,
  /// The server refuses more connections (SQLSTATE 53300). Transient.
  too_many_connections,
  /// The server is shutting down, starting up or busy (SQLSTATE 57P01-57P03,
  /// 40001 serialization_failure, 40P01 deadlock_detected; SQLITE_BUSY,
  /// SQLITE_LOCKED). Transient.
  unavailable,
  /// The statement is malformed (SQLSTATE 42601; SQLITE_ERROR on a parse error).
  syntax_error,
  /// The statement names a table or column that does not exist (SQLSTATE
  /// 42P01, 42703; SQLITE_ERROR "no such table").
  undefined_object,
  /// A value is missing or of the wrong type (SQLSTATE class 22, 08P01, 42883
  /// undefined_function for an operator with no such operand types;
  /// SQLITE_RANGE, SQLITE_MISMATCH).
  invalid_parameter,
  /// Not allowed, now or ever (SQLSTATE 42501; SQLITE_PERM, SQLITE_AUTH,
  /// SQLITE_READONLY). Retrying cannot help.
  insufficient_privilege,
  /// The client used the connection against its rules (two operations at
  /// once; SQLITE_MISUSE; libpq's "another command is already in progress").
  /// A bug in the caller: retrying cannot help.
  misuse,
  /// The operation did not complete before its deadline and was cancelled
  /// (SQLSTATE 57014 query_canceled, as a statement_timeout reports it; a
  /// client-side deadline). Transient: the next attempt may be faster.
  timed_out,
};

/// The error category of the mock database; its name is "mockdb".
const boost::system::error_category& category() noexcept;

/// The category of ErrorClass; its name is "database".
const boost::system::error_category& condition_category() noexcept;

/// Makes an error_code in the mock database's category.
inline boost::system::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), category()};
}

/// Makes an error_condition to compare any backend's error_code with.
inline boost::system::error_condition make_error_condition(ErrorClass c) noexcept {
  return {static_cast<int>(c), condition_category()};
}

/// The SQLSTATE a PostgreSQL server would report for `e` ("08006" for a
/// connection reset, "42601" for a syntax error, ...).
const char* sqlstate(Errc e) noexcept;

/// True for errors that may go away if the operation is tried again later, on
/// a fresh connection: the conditions connection_failure, too_many_connections,
/// unavailable and timed_out, from any backend.
bool is_transient(const boost::system::error_code& ec) noexcept;

/// What the server said about a failure, kept apart from the client's summary
/// (what()): the server's own message, its SQLSTATE, and where in the
/// statement the problem is.
struct Diagnostics {
  std::string server_message;           ///< The server's text, as it sent it.
  std::string sqlstate;                 ///< Five characters, e.g. "42601"; empty if none.
  std::optional<std::size_t> position;  ///< 0-based offset into the statement, if any.
};

/// A failed database operation: an error_code (compare it with an ErrorClass)
/// and the server's diagnostics.
class DatabaseError : public boost::system::system_error {
 public:
  /// `ec` with the server's `diagnostics`.
  DatabaseError(boost::system::error_code ec, Diagnostics diagnostics);
  /// What the server said.
  const Diagnostics& diagnostics() const noexcept { return diagnostics_; }

 private:
  Diagnostics diagnostics_;
};

/// Throws DatabaseError for `e`, with `server_message` and e's SQLSTATE.
[[noreturn]] void throw_database_error(Errc e, std::string server_message = {});

}  // namespace mockdb

/// \cond
template <>
struct boost::system::is_error_code_enum<mockdb::Errc> : std::true_type {};
template <>
struct boost::system::is_error_condition_enum<mockdb::ErrorClass> : std::true_type {};
/// \endcond
