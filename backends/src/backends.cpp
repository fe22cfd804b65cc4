// open_backend(): the mock, SQLite on a temporary file, or PostgreSQL in a database of its own.
#include "workbook/backends.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <utility>

#include "mockdb/mock_database.hpp"
#if WORKBOOK_HAS_SQLITE
#include "sqlitedb/sqlite_database.hpp"
#endif
#if WORKBOOK_HAS_POSTGRES
#include "pgdb/postgres_database.hpp"
#include "pgdb/testing/temporary_server.hpp"
#endif

namespace workbook {

bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view(ci) == "true";
}

std::vector<std::string> backend_names() {
  std::vector<std::string> names{"mock"};
#if WORKBOOK_HAS_SQLITE
  names.emplace_back("sqlite");
#endif
#if WORKBOOK_HAS_POSTGRES
  names.emplace_back("postgres");
#endif
  return names;
}

OpenedDatabase::OpenedDatabase(std::string backend, std::string location,
                               std::unique_ptr<mockdb::DatabaseService> db,
                               std::shared_ptr<void> cleanup)
    : backend_(std::move(backend)),
      location_(std::move(location)),
      db_(std::move(db)),
      cleanup_(std::move(cleanup)) {}

OpenedDatabase::~OpenedDatabase() {
  db_.reset();  // first the database (its connections, its threads), then what it stood on
  cleanup_.reset();
}

boost::asio::awaitable<std::unique_ptr<mockdb::Connection>> OpenedDatabase::connect() {
  return db_->connect();
}
boost::asio::awaitable<mockdb::Id> OpenedDatabase::create(std::string table, mockdb::Row row) {
  return db_->create(std::move(table), std::move(row));
}
boost::asio::awaitable<std::optional<mockdb::Row>> OpenedDatabase::read(std::string table,
                                                                        mockdb::Id id) {
  return db_->read(std::move(table), id);
}
boost::asio::awaitable<bool> OpenedDatabase::update(std::string table, mockdb::Id id,
                                                    mockdb::Row fields) {
  return db_->update(std::move(table), id, std::move(fields));
}
boost::asio::awaitable<bool> OpenedDatabase::remove(std::string table, mockdb::Id id) {
  return db_->remove(std::move(table), id);
}
boost::asio::awaitable<mockdb::Rows> OpenedDatabase::query(std::string sql, mockdb::Params params) {
  return db_->query(std::move(sql), std::move(params));
}

namespace {

std::unique_ptr<OpenedDatabase> open_mock(const BackendOptions& options) {
  return std::make_unique<OpenedDatabase>("mock", "memory",
                                          std::make_unique<mockdb::MockDatabase>(mockdb::MockConfig{
                                              .max_connections = options.max_connections}),
                                          nullptr);
}

#if WORKBOOK_HAS_SQLITE
// Removes a database file and the files SQLite keeps beside it.
struct TemporaryFile {
  std::string path;
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  TemporaryFile(TemporaryFile&&) = delete;
  TemporaryFile& operator=(TemporaryFile&&) = delete;
  explicit TemporaryFile(std::string p) : path(std::move(p)) {}
  ~TemporaryFile() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::error_code ignored;
      std::filesystem::remove(path + suffix, ignored);
    }
  }
};

std::unique_ptr<OpenedDatabase> open_sqlite(const BackendOptions& options) {
  std::string path = (std::filesystem::temp_directory_path() / "workbook-sqlite-XXXXXX").string();
  const int fd = mkstemp(path.data());
  if (fd < 0) {
    throw BackendUnavailable("sqlite: cannot create a temporary database file as " + path + ": " +
                             std::generic_category().message(errno) +
                             " (set TMPDIR to a directory you can write)");
  }
  close(fd);  // SQLite takes an empty file for a new database
  auto file = std::make_shared<TemporaryFile>(path);
  // Each worker thread runs one statement at a time: as many as may be in flight, up to 4.
  const std::size_t threads =
      std::max<std::size_t>(1, std::min<std::size_t>(options.max_connections, 4));
  auto db = std::make_unique<sqlitedb::SqliteDatabase>(sqlitedb::Options{
      .path = path, .threads = threads, .max_connections = options.max_connections});
  return std::make_unique<OpenedDatabase>("sqlite", path, std::move(db), std::move(file));
}
#endif

#if WORKBOOK_HAS_POSTGRES
// One server per process, started on first use and shared by every database opened on it
// (each a database of its own), stopped when the process ends. Started by the first caller's
// thread, whose end the server follows (PR_SET_PDEATHSIG): open the first PostgreSQL database
// on the main thread.
std::shared_ptr<pgdb::testing::TemporaryServer> shared_server() {
  static std::mutex mutex;
  static std::shared_ptr<pgdb::testing::TemporaryServer> server;
  static std::string failure;
  const std::lock_guard lock(mutex);
  if (server) return server;
  if (!failure.empty()) throw BackendUnavailable(failure);
  try {
    server = std::make_shared<pgdb::testing::TemporaryServer>();
  } catch (const std::exception& e) {  // ServerUnavailable, or a server that would not start
    failure = std::string("postgres: ") + e.what();
    throw BackendUnavailable(failure);
  }
  return server;
}

// A database made on the shared server for one OpenedDatabase, dropped with it.
struct ServerDatabase {
  std::shared_ptr<pgdb::testing::TemporaryServer> server;
  std::string name;
  ServerDatabase(const ServerDatabase&) = delete;
  ServerDatabase& operator=(const ServerDatabase&) = delete;
  ServerDatabase(ServerDatabase&&) = delete;
  ServerDatabase& operator=(ServerDatabase&&) = delete;
  ServerDatabase(std::shared_ptr<pgdb::testing::TemporaryServer> s, std::string n)
      : server(std::move(s)), name(std::move(n)) {
    server->execute("CREATE DATABASE " + name);
  }
  ~ServerDatabase() {
    try {
      server->execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    } catch (const std::exception&) {
      // The server is going away, or is gone: so is the database.
    }
  }
};

std::unique_ptr<OpenedDatabase> open_postgres(boost::asio::any_io_executor executor,
                                              const BackendOptions& options) {
  static std::atomic<unsigned> databases{0};
  auto server = shared_server();
  const std::string name =
      "workbook_" + std::to_string(getpid()) + "_" + std::to_string(++databases);
  std::shared_ptr<ServerDatabase> database;
  try {
    database = std::make_shared<ServerDatabase>(server, name);
  } catch (const std::exception& e) {
    throw BackendUnavailable("postgres: cannot create a database on the server (" +
                             server->conninfo() + "): " + e.what());
  }
  // In a libpq connection string a later keyword wins: this dbname replaces the server's.
  const std::string conninfo = server->conninfo() + " dbname=" + name;
  auto db = std::make_unique<pgdb::PostgresDatabase>(
      std::move(executor), pgdb::Options{.conninfo = conninfo,
                                         .max_connections = options.max_connections,
                                         .pipeline = options.pipeline});
  return std::make_unique<OpenedDatabase>("postgres", conninfo, std::move(db), std::move(database));
}
#endif

std::string known_names() {
  std::string out;
  for (const auto& n : backend_names()) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

std::unique_ptr<OpenedDatabase> open_backend(std::string_view name,
                                             [[maybe_unused]] boost::asio::any_io_executor executor,
                                             BackendOptions options) {
  if (name == "mock") return open_mock(options);
#if WORKBOOK_HAS_SQLITE
  if (name == "sqlite") return open_sqlite(options);
#endif
#if WORKBOOK_HAS_POSTGRES
  if (name == "postgres") return open_postgres(std::move(executor), options);
#endif
  std::string message =
      "unknown backend '" + std::string(name) + "': this build has " + known_names();
  if (name == "sqlite" || name == "postgres") {
    message += " (" + std::string(name) +
               " is built where its Debian package is installed: run ./workbook doctor)";
  }
  throw std::invalid_argument(message);
}

}  // namespace workbook
