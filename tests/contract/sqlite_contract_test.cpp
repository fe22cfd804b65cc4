// The database contract (database_contract.hpp) on SQLite: a fresh database file per test,
// opened by sqlitedb::SqliteDatabase (a pool of worker threads, each with its own connection).
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "database_contract.hpp"
#include "sqlitedb/sqlite_database.hpp"

namespace {

/// A SqliteDatabase on a temporary file that it removes (with its -wal and -shm files) once
/// the database is closed.
class SqliteOnTempFile final : public mockdb::DatabaseService {
 public:
  explicit SqliteOnTempFile(std::size_t max_connections)
      : path_(make_temp_file()),
        db_(std::make_unique<sqlitedb::SqliteDatabase>(
            sqlitedb::Options{.path = path_, .threads = 2, .max_connections = max_connections})) {}
  ~SqliteOnTempFile() override {
    db_.reset();  // joins the workers and closes their connections first
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::error_code ignored;
      std::filesystem::remove(path_ + suffix, ignored);
    }
  }
  SqliteOnTempFile(const SqliteOnTempFile&) = delete;
  SqliteOnTempFile& operator=(const SqliteOnTempFile&) = delete;
  SqliteOnTempFile(SqliteOnTempFile&&) = delete;
  SqliteOnTempFile& operator=(SqliteOnTempFile&&) = delete;

  const std::string& path() const { return path_; }

  boost::asio::awaitable<std::unique_ptr<mockdb::Connection>> connect() override {
    return db_->connect();
  }
  boost::asio::awaitable<mockdb::Id> create(std::string table, mockdb::Row row) override {
    return db_->create(std::move(table), std::move(row));
  }
  boost::asio::awaitable<std::optional<mockdb::Row>> read(std::string table,
                                                          mockdb::Id id) override {
    return db_->read(std::move(table), id);
  }
  boost::asio::awaitable<bool> update(std::string table, mockdb::Id id,
                                      mockdb::Row fields) override {
    return db_->update(std::move(table), id, std::move(fields));
  }
  boost::asio::awaitable<bool> remove(std::string table, mockdb::Id id) override {
    return db_->remove(std::move(table), id);
  }
  boost::asio::awaitable<mockdb::Rows> query(std::string sql, mockdb::Params params) override {
    return db_->query(std::move(sql), std::move(params));
  }

 private:
  static std::string make_temp_file() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "workbook-contract-XXXXXX").string();
    const int fd = mkstemp(pattern.data());
    if (fd < 0) throw std::runtime_error("cannot create a temporary file in " + pattern);
    close(fd);  // SQLite takes an empty file for a new database
    return pattern;
  }

  std::string path_;
  std::unique_ptr<sqlitedb::SqliteDatabase> db_;
};

struct Sqlite {
  static std::unique_ptr<mockdb::DatabaseService> open(boost::asio::io_context& /*ctx*/,
                                                       std::size_t max_connections) {
    return std::make_unique<SqliteOnTempFile>(max_connections);
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
    return std::make_unique<Blocker>(dynamic_cast<SqliteOnTempFile&>(db).path());
  }
};

}  // namespace

namespace contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, DatabaseContract, ::Sqlite);
}  // namespace contract
