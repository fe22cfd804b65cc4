// The "sqlite" error category: SQLite's result codes, each mapped onto the
// portable mockdb::ErrorClass a caller tests for (see errors.hpp of mockdb).
#include "errors.hpp"

#include <string_view>

#include "sqlitedb/sqlite_database.hpp"

namespace sqlitedb {
namespace {

using mockdb::ErrorClass;

// SQLite's primary code is the low byte of an extended code.
int primary(int code) { return code & 0xff; }

// NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor)
class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "sqlite"; }

  std::string message(int value) const override {
    if (value == kErrorNoSuchTable) return "no such table";
    if (value == kErrorSyntax) return "SQL syntax error";
    return sqlite3_errstr(value);
  }

  boost::system::error_condition default_error_condition(int value) const noexcept override {
    if (value == kErrorNoSuchTable) return ErrorClass::undefined_object;
    if (value == kErrorSyntax) return ErrorClass::syntax_error;
    switch (primary(value)) {
      case SQLITE_BUSY:    // another connection holds the lock past busy_timeout
      case SQLITE_LOCKED:  // a conflict inside one connection (shared cache)
      case SQLITE_FULL:
      case SQLITE_NOMEM:
      case SQLITE_PROTOCOL:
      case SQLITE_SCHEMA:
        return ErrorClass::unavailable;
      case SQLITE_IOERR:
      case SQLITE_CANTOPEN:
      case SQLITE_NOTADB:   // the file is not a database: this connection cannot work
      case SQLITE_CORRUPT:  // (permanent in practice: fix the file, retrying cannot)
      case SQLITE_NOLFS:
        return ErrorClass::connection_failure;
      case SQLITE_RANGE:  // a parameter index out of range
      case SQLITE_MISMATCH:
      case SQLITE_TOOBIG:
      case SQLITE_CONSTRAINT:
        return ErrorClass::invalid_parameter;
      case SQLITE_PERM:
      case SQLITE_AUTH:
      case SQLITE_READONLY:
        return ErrorClass::insufficient_privilege;
      case SQLITE_MISUSE:
        return ErrorClass::misuse;
      case SQLITE_INTERRUPT:
        // Our own cancellations are reported as operation_aborted before they
        // get here; an interrupt from elsewhere is a deadline's doing.
        return ErrorClass::timed_out;
      default:
        return {value, *this};
    }
  }
};

// SQLITE_ERROR covers both "no such table" and a parse error: tell them apart
// by the message, so that each gets a condition of its own.
int refine(int rc, std::string_view message) {
  if (rc != SQLITE_ERROR) return rc;
  if (message.starts_with("no such table")) return kErrorNoSuchTable;
  if (message.find("syntax error") != std::string_view::npos ||
      message.starts_with("incomplete input") || message.starts_with("unrecognized token")) {
    return kErrorSyntax;
  }
  return rc;
}

// The code's name, for Diagnostics::sqlstate (SQLite has no SQLSTATE).
std::string code_text(int code) {
  static constexpr std::pair<int, const char*> names[] = {
      {SQLITE_ERROR, "SQLITE_ERROR"},       {SQLITE_PERM, "SQLITE_PERM"},
      {SQLITE_ABORT, "SQLITE_ABORT"},       {SQLITE_BUSY, "SQLITE_BUSY"},
      {SQLITE_LOCKED, "SQLITE_LOCKED"},     {SQLITE_NOMEM, "SQLITE_NOMEM"},
      {SQLITE_READONLY, "SQLITE_READONLY"}, {SQLITE_INTERRUPT, "SQLITE_INTERRUPT"},
      {SQLITE_IOERR, "SQLITE_IOERR"},       {SQLITE_CORRUPT, "SQLITE_CORRUPT"},
      {SQLITE_FULL, "SQLITE_FULL"},         {SQLITE_CANTOPEN, "SQLITE_CANTOPEN"},
      {SQLITE_PROTOCOL, "SQLITE_PROTOCOL"}, {SQLITE_SCHEMA, "SQLITE_SCHEMA"},
      {SQLITE_TOOBIG, "SQLITE_TOOBIG"},     {SQLITE_CONSTRAINT, "SQLITE_CONSTRAINT"},
      {SQLITE_MISMATCH, "SQLITE_MISMATCH"}, {SQLITE_MISUSE, "SQLITE_MISUSE"},
      {SQLITE_AUTH, "SQLITE_AUTH"},         {SQLITE_RANGE, "SQLITE_RANGE"},
      {SQLITE_NOTADB, "SQLITE_NOTADB"},
  };
  std::string text = "SQLITE_" + std::to_string(primary(code));
  for (const auto& [value, name] : names) {
    if (value == primary(code)) text = name;
  }
  if (code != primary(code)) text += " (extended code " + std::to_string(code) + ")";
  return text;
}

}  // namespace

const boost::system::error_category& category() noexcept {
  static const Category instance;
  return instance;
}

namespace detail {

mockdb::DatabaseError sqlite_error(int rc, std::string message) {
  const int code = refine(rc, message);
  return {boost::system::error_code(code, category()),
          mockdb::Diagnostics{std::move(message), code_text(rc), std::nullopt}};
}

mockdb::DatabaseError sqlite_error(sqlite3* db, int rc) {
  const int extended = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  // The extended code refines rc only if it belongs to the same failure.
  const int code = primary(extended) == primary(rc) ? extended : rc;
  return sqlite_error(code, db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

std::exception_ptr client_error(mockdb::Errc e, std::string message) {
  return std::make_exception_ptr(
      mockdb::DatabaseError(mockdb::make_error_code(e),
                            mockdb::Diagnostics{std::move(message), mockdb::sqlstate(e), {}}));
}

}  // namespace detail
}  // namespace sqlitedb
