// The database contract (database_contract.hpp) on PostgreSQL: a fresh database per test on
// the server PGHOST names, or on a throwaway server this program starts (and stops).
#include <stdexcept>

#include "database_contract.hpp"
#include "pgdb/testing/temporary_server.hpp"
#include "workbook/backends.hpp"

namespace {

struct Postgres {
  static std::unique_ptr<mockdb::DatabaseService> open(boost::asio::io_context& ctx,
                                                       std::size_t max_connections) {
    return workbook::open_backend("postgres", ctx.get_executor(),
                                  {.max_connections = max_connections});
  }

  /// A session of the test's own locks the table against writes (EXCLUSIVE mode lets reads
  /// through, and conflicts with the ROW EXCLUSIVE lock that INSERT, UPDATE and DELETE take),
  /// so the backend's next write waits on the server until it is cancelled or the lock goes.
  class Blocker {
   public:
    Blocker(const std::string& conninfo, const std::string& table) : session_(conninfo) {
      session_.execute("BEGIN; LOCK TABLE \"" + table + "\" IN EXCLUSIVE MODE");
    }
    ~Blocker() {
      try {
        session_.execute("ROLLBACK");
      } catch (const std::exception&) {
        // The session ends with this object anyway, and its lock with it.
      }
    }
    Blocker(const Blocker&) = delete;
    Blocker& operator=(const Blocker&) = delete;
    Blocker(Blocker&&) = delete;
    Blocker& operator=(Blocker&&) = delete;

   private:
    pgdb::testing::AdminSession session_;
  };

  static std::unique_ptr<Blocker> block_writes(mockdb::DatabaseService& db,
                                               const std::string& table) {
    return std::make_unique<Blocker>(dynamic_cast<workbook::OpenedDatabase&>(db).location(), table);
  }
};

}  // namespace

namespace contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, DatabaseContract, ::Postgres);
}  // namespace contract
