// Error codes of the mock database.
//
// Every failed database operation completes with a boost::system::error_code in
// the `mockdb` category (thrown as boost::system::system_error when the caller
// awaits with asio::use_awaitable). The messages are written for learners: they
// say what happened and, where it helps, what to do about it.
#pragma once

#include <boost/system/error_code.hpp>
#include <type_traits>

namespace mockdb {

/// What went wrong in a mock database operation.
enum class Errc {
  too_many_connections = 1,  ///< The connection limit was reached.
  unavailable,               ///< The database is in an outage window.
  connection_reset,          ///< A transient failure injected by a fault plan.
  query_syntax,              ///< A query could not be parsed (see QueryError).
  no_such_table,             ///< A query named a table that was never written.
  bad_parameter,             ///< A `$n` parameter is missing or of the wrong type.
  permission_denied,         ///< A permanent failure: retrying cannot help.
  connection_closed,         ///< An operation ran on a connection already closed.
};

/// The error category of the mock database; its name is "mockdb".
const boost::system::error_category& category() noexcept;

/// Makes an error_code in the mock database's category.
inline boost::system::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), category()};
}

/// True for errors that may go away if the operation is tried again later
/// (connection reset, outage, too many connections).
bool is_transient(const boost::system::error_code& ec) noexcept;

}  // namespace mockdb

/// \cond
template <>
struct boost::system::is_error_code_enum<mockdb::Errc> : std::true_type {};
/// \endcond
