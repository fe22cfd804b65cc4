// The "postgresql" error category: a SQLSTATE as an error_code, and its ErrorClass.
//
// A SQLSTATE is five characters from [0-9A-Z]; read as a base-36 number it fits an int
// (36^5 is about 60 million), so the code's value is the SQLSTATE itself and nothing is lost.
#include <boost/system/error_category.hpp>
#include <string>
#include <string_view>

#include "pgdb/postgres_database.hpp"

namespace pgdb {
namespace {

constexpr int kBase = 36;
constexpr std::size_t kLength = 5;

int digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return -1;
}

std::string decode(int value) {
  std::string text(kLength, '0');
  for (std::size_t i = kLength; i-- > 0;) {
    const int d = value % kBase;
    text[i] = static_cast<char>(d < 10 ? '0' + d : 'A' + d - 10);
    value /= kBase;
  }
  return text;
}

// Final, used only through the static instance below.
// NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor)
class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "postgresql"; }

  std::string message(int value) const override {
    const std::string state = decode(value);
    return "SQLSTATE " + state + describe(state);
  }

  // The ErrorClass of a SQLSTATE, as mockdb/errors.hpp lists them. Specific codes first,
  // then whole classes (the first two characters).
  boost::system::error_condition default_error_condition(int value) const noexcept override {
    using mockdb::ErrorClass;
    const std::string state = decode(value);
    const std::string_view klass = std::string_view(state).substr(0, 2);
    if (state == "53300") return ErrorClass::too_many_connections;
    if (state == "57P01" || state == "57P02" || state == "57P03" || state == "40001" ||
        state == "40P01") {
      return ErrorClass::unavailable;
    }
    if (state == "42601") return ErrorClass::syntax_error;
    if (state == "42P01" || state == "42703") return ErrorClass::undefined_object;
    // 08P01 (protocol_violation) is a bad message from the client, e.g. a missing parameter:
    // the connection itself is fine.
    if (state == "42883" || state == "08P01" || klass == "22") {
      return ErrorClass::invalid_parameter;
    }
    if (state == "42501") return ErrorClass::insufficient_privilege;
    if (state == "57014") return ErrorClass::timed_out;
    if (klass == "08") return ErrorClass::connection_failure;
    return {value, *this};
  }

 private:
  // A few words for the codes this backend meets most; the server's own message, in the
  // DatabaseError's diagnostics, says the rest.
  static std::string describe(const std::string& state) {
    if (state == "08006") return " (connection_failure)";
    if (state == "08001") return " (could not connect)";
    if (state == "53300") return " (too_many_connections)";
    if (state == "57P01") return " (admin_shutdown: the server ended the connection)";
    if (state == "42601") return " (syntax_error)";
    if (state == "42P01") return " (undefined_table)";
    if (state == "42883") return " (undefined_function: no such operator for these types)";
    if (state == "22023") return " (invalid_parameter_value)";
    if (state == "57014") return " (query_canceled)";
    return "";
  }
};

}  // namespace

const boost::system::error_category& category() noexcept {
  static const Category instance;
  return instance;
}

boost::system::error_code make_error_code(std::string_view state) noexcept {
  int value = 0;
  bool valid = state.size() == kLength;
  for (std::size_t i = 0; valid && i < kLength; ++i) {
    const int d = digit_value(state[i]);
    valid = d >= 0;
    value = value * kBase + d;
  }
  if (!valid) return make_error_code("XX000");
  return {value, category()};
}

std::string sqlstate(const boost::system::error_code& ec) {
  if (ec.category() != category()) return "";
  return decode(ec.value());
}

}  // namespace pgdb
