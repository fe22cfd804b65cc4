// Opening a database on a backend chosen by name at run time: the in-memory mock, SQLite on a
// temporary file, or PostgreSQL on a throwaway server. Code written against
// mockdb::DatabaseService runs unchanged on each (the contract suite in tests/contract proves
// the three agree).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "mockdb/database.hpp"

namespace workbook {

/// Thrown by open_backend() when a backend this build has cannot run here (no PostgreSQL
/// server can be started, say). what() says why and what to do about it.
class BackendUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// True when the environment says this is CI (CI=true): there a backend that cannot run is a
/// failure, so that a suite that did not run never passes for one that did; elsewhere its
/// tests are skipped, saying why.
bool running_in_ci();

/// The backends this build has, in this order: "mock" always, then "sqlite" and "postgres"
/// when their libraries were built (libsqlite3-dev, libpq-dev).
std::vector<std::string> backend_names();

/// How open_backend() sizes the database.
struct BackendOptions {
  /// At most this many connections open at once (the pool's limit, on every backend).
  std::size_t max_connections = 8;
  /// PostgreSQL only: send a batch of inserts (pgdb::PostgresDatabase::create_many) in libpq's
  /// pipeline mode, one round trip for all, rather than one round trip each.
  bool pipeline = true;
};

/// A database opened by open_backend(), with what it needs kept alive around it (a temporary
/// file, a server, a database made on a server), all removed when it is destroyed. Destroy it
/// before the io_context its operations run on.
class OpenedDatabase final : public mockdb::DatabaseService {
 public:
  /// Used by open_backend(): `db` on `backend` at `location`; `cleanup` runs after `db` is
  /// destroyed.
  OpenedDatabase(std::string backend, std::string location,
                 std::unique_ptr<mockdb::DatabaseService> db, std::shared_ptr<void> cleanup);
  ~OpenedDatabase() override;
  OpenedDatabase(const OpenedDatabase&) = delete;
  OpenedDatabase& operator=(const OpenedDatabase&) = delete;
  OpenedDatabase(OpenedDatabase&&) = delete;
  OpenedDatabase& operator=(OpenedDatabase&&) = delete;

  /// "mock", "sqlite" or "postgres".
  const std::string& backend() const noexcept { return backend_; }
  /// Where the data is: "memory", the SQLite file, or the PostgreSQL connection string.
  const std::string& location() const noexcept { return location_; }
  /// The backend's own object (a mockdb::MockDatabase, sqlitedb::SqliteDatabase or
  /// pgdb::PostgresDatabase), for what only that backend has.
  mockdb::DatabaseService& inner() noexcept { return *db_; }

  boost::asio::awaitable<std::unique_ptr<mockdb::Connection>> connect() override;
  boost::asio::awaitable<mockdb::Id> create(std::string table, mockdb::Row row) override;
  boost::asio::awaitable<std::optional<mockdb::Row>> read(std::string table,
                                                          mockdb::Id id) override;
  boost::asio::awaitable<bool> update(std::string table, mockdb::Id id,
                                      mockdb::Row fields) override;
  boost::asio::awaitable<bool> remove(std::string table, mockdb::Id id) override;
  boost::asio::awaitable<mockdb::Rows> query(std::string sql, mockdb::Params params = {}) override;

 private:
  std::string backend_;
  std::string location_;
  std::unique_ptr<mockdb::DatabaseService> db_;
  std::shared_ptr<void> cleanup_;
};

/// A fresh, empty database on backend `name` (see backend_names()):
///  - "mock": a mockdb::MockDatabase without latency (real time; tests that want virtual time
///    make their own);
///  - "sqlite": a sqlitedb::SqliteDatabase on a new temporary file, removed afterwards;
///  - "postgres": a pgdb::PostgresDatabase in a new database (dropped afterwards) on the server
///    PGHOST names, or else on a throwaway PostgreSQL 15 server that this process starts once,
///    listening only on a Unix socket, and that stops when the process ends (even if killed).
/// Its operations wait on `executor`'s context. Throws std::invalid_argument for a name this
/// build does not have (the message lists the ones it has), and BackendUnavailable when the
/// backend cannot run here.
std::unique_ptr<OpenedDatabase> open_backend(std::string_view name,
                                             boost::asio::any_io_executor executor,
                                             BackendOptions options = {});

}  // namespace workbook
