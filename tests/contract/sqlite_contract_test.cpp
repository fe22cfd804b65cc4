// The database contract (database_contract.hpp) on SQLite: a fresh database file per test,
// opened by sqlitedb::SqliteDatabase (a pool of worker threads, each with its own connection).
#include <sqlite3.h>

#include <stdexcept>

#include "database_contract.hpp"
#include "workbook/backends.hpp"

namespace {

struct Sqlite {
  static std::unique_ptr<mockdb::DatabaseService> open(boost::asio::io_context& ctx,
                                                       std::size_t max_connections) {
    return workbook::open_backend("sqlite", ctx.get_executor(),
                                  {.max_connections = max_connections});
  }

  /// A connection of the test's own holds the database's write lock (BEGIN IMMEDIATE), so
  /// the backend's next write waits in its busy handler until it is cancelled or the lock
  /// goes.
  class Blocker {
   public:
    explicit Blocker(const std::string& path) {
      if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK ||
          sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
        const std::string message = sqlite3_errmsg(db_);
        sqlite3_close(db_);
        throw std::runtime_error("the test could not take the write lock: " + message);
      }
    }
    ~Blocker() {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      sqlite3_close(db_);
    }
    Blocker(const Blocker&) = delete;
    Blocker& operator=(const Blocker&) = delete;
    Blocker(Blocker&&) = delete;
    Blocker& operator=(Blocker&&) = delete;

   private:
    sqlite3* db_ = nullptr;
  };

  static std::unique_ptr<Blocker> block_writes(mockdb::DatabaseService& db,
                                               const std::string& /*table*/) {
    return std::make_unique<Blocker>(dynamic_cast<workbook::OpenedDatabase&>(db).location());
  }
};

}  // namespace

namespace contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, DatabaseContract, ::Sqlite);
}  // namespace contract
