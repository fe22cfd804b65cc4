// How SQLite's failures become the workbook's errors (internal to sqlite_db).
#pragma once

#include <sqlite3.h>

#include <exception>
#include <string>

#include "mockdb/errors.hpp"

namespace sqlitedb::detail {

/// The error `rc` of connection `db` (its message, its extended code), as the
/// DatabaseError a caller catches. Call it on the thread that owns `db`, right
/// after the failing call: sqlite3_errmsg() describes the latest call only.
mockdb::DatabaseError sqlite_error(sqlite3* db, int rc);

/// The same with a message of our own, for a connection that failed to open.
mockdb::DatabaseError sqlite_error(int rc, std::string message);

/// A client-side refusal (too many connections, a busy or closed connection, a
/// bad parameter) in the interface's own category.
std::exception_ptr client_error(mockdb::Errc e, std::string message);

}  // namespace sqlitedb::detail
