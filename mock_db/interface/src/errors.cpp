// The mockdb error category (messages a learner can act on), the database
// condition category every backend maps onto, and DatabaseError.
#include "mockdb/errors.hpp"

#include <string>

namespace mockdb {
namespace {

// Final classes, used only through the static instances below.
// NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor)
class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "mockdb"; }

  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::too_many_connections:
        return "too many connections: the database's connection limit is reached; "
               "limit how many operations run at once";
      case Errc::unavailable:
        return "database unavailable (outage); retry later with backoff";
      case Errc::connection_reset:
        return "connection reset by the database (transient); the operation may be retried, "
               "but it may also have taken effect";
      case Errc::query_syntax:
        return "query syntax error";
      case Errc::no_such_table:
        return "no such table";
      case Errc::bad_parameter:
        return "bad query parameter";
      case Errc::permission_denied:
        return "permission denied (permanent); retrying cannot help";
      case Errc::connection_closed:
        return "connection closed: it was closed, or broken by a failure or a cancellation "
               "in the middle of an operation; open a new one";
      case Errc::type_mismatch:
        return "type mismatch: a value is compared with one of another type";
      case Errc::operation_in_progress:
        return "another operation is already in progress on this connection: a connection "
               "runs one operation at a time; wait for it, or use another connection";
      case Errc::timed_out:
        return "timed out: the operation did not complete within its deadline and was "
               "cancelled (transient); it may be retried";
    }
    return "unknown mockdb error " + std::to_string(value);
  }

  boost::system::error_condition default_error_condition(int value) const noexcept override {
    switch (static_cast<Errc>(value)) {
      case Errc::connection_reset:
      case Errc::connection_closed:
        return ErrorClass::connection_failure;
      case Errc::too_many_connections:
        return ErrorClass::too_many_connections;
      case Errc::unavailable:
        return ErrorClass::unavailable;
      case Errc::query_syntax:
        return ErrorClass::syntax_error;
      case Errc::no_such_table:
        return ErrorClass::undefined_object;
      case Errc::bad_parameter:
      case Errc::type_mismatch:
        return ErrorClass::invalid_parameter;
      case Errc::permission_denied:
        return ErrorClass::insufficient_privilege;
      case Errc::operation_in_progress:
        return ErrorClass::misuse;
      case Errc::timed_out:
        return ErrorClass::timed_out;
    }
    return {value, *this};
  }
};

// NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor)
class ErrorClassCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "database"; }

  std::string message(int value) const override {
    switch (static_cast<ErrorClass>(value)) {
      case ErrorClass::connection_failure:
        return "the connection failed";
      case ErrorClass::too_many_connections:
        return "too many connections";
      case ErrorClass::unavailable:
        return "the database is unavailable or busy";
      case ErrorClass::syntax_error:
        return "syntax error";
      case ErrorClass::undefined_object:
        return "no such table or column";
      case ErrorClass::invalid_parameter:
        return "invalid parameter";
      case ErrorClass::insufficient_privilege:
        return "insufficient privilege";
      case ErrorClass::misuse:
        return "the connection was used against its rules";
      case ErrorClass::timed_out:
        return "the operation timed out";
    }
    return "unknown database condition " + std::to_string(value);
  }
};

}  // namespace

const boost::system::error_category& category() noexcept {
  static const Category instance;
  return instance;
}

const boost::system::error_category& condition_category() noexcept {
  static const ErrorClassCategory instance;
  return instance;
}

const char* sqlstate(Errc e) noexcept {
  switch (e) {
    case Errc::too_many_connections:
      return "53300";  // too_many_connections
    case Errc::unavailable:
      return "57P03";  // cannot_connect_now
    case Errc::connection_reset:
      return "08006";  // connection_failure
    case Errc::query_syntax:
      return "42601";  // syntax_error
    case Errc::no_such_table:
      return "42P01";  // undefined_table
    case Errc::bad_parameter:
      return "22023";  // invalid_parameter_value
    case Errc::permission_denied:
      return "42501";  // insufficient_privilege
    case Errc::connection_closed:
      return "08003";  // connection_does_not_exist
    case Errc::operation_in_progress:
      return "55006";  // object_in_use
    case Errc::type_mismatch:
      return "42883";  // undefined_function: no operator for these types
    case Errc::timed_out:
      return "57014";  // query_canceled (what a statement_timeout reports)
  }
  return "";
}

bool is_transient(const boost::system::error_code& ec) noexcept {
  return ec == ErrorClass::connection_failure || ec == ErrorClass::too_many_connections ||
         ec == ErrorClass::unavailable || ec == ErrorClass::timed_out;
}

namespace {
// what() is "<server message>: <the category's message>", or the latter alone.
boost::system::system_error summary(boost::system::error_code ec, const std::string& message) {
  return message.empty() ? boost::system::system_error(ec)
                         : boost::system::system_error(ec, message);
}
}  // namespace

DatabaseError::DatabaseError(boost::system::error_code ec, Diagnostics diagnostics)
    : boost::system::system_error(summary(ec, diagnostics.server_message)),
      diagnostics_(std::move(diagnostics)) {}

void throw_database_error(Errc e, std::string server_message) {
  throw DatabaseError(make_error_code(e), Diagnostics{std::move(server_message), sqlstate(e), {}});
}

}  // namespace mockdb
