// The mockdb error category: messages a learner can act on.
#include "mockdb/errors.hpp"

#include <string>

namespace mockdb {
namespace {

// A final class, used only through the one static instance below.
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
        return "connection reset by the database (transient); the operation may be retried";
      case Errc::query_syntax:
        return "query syntax error";
      case Errc::no_such_table:
        return "no such table";
      case Errc::bad_parameter:
        return "bad query parameter";
      case Errc::permission_denied:
        return "permission denied (permanent); retrying cannot help";
      case Errc::connection_closed:
        return "connection closed";
    }
    return "unknown mockdb error " + std::to_string(value);
  }
};

}  // namespace

const boost::system::error_category& category() noexcept {
  static const Category instance;
  return instance;
}

bool is_transient(const boost::system::error_code& ec) noexcept {
  return ec == Errc::connection_reset || ec == Errc::unavailable ||
         ec == Errc::too_many_connections;
}

}  // namespace mockdb
