// SqliteDatabase: the workbook's database interface on a real SQLite file.
//
// SQLite's API blocks: sqlite3_step() returns when the statement is done, after
// reading the disk or waiting for another connection's lock. Called on an
// event loop, it would stall every coroutine on that loop (chapter 01). So this
// backend never calls SQLite on the caller's thread. It owns a small pool of
// worker threads, each with one sqlite3 connection of its own, and every
// operation is a job handed to that pool; the result is posted back to the
// executor of the coroutine that awaits it. The event loop only ever waits.
//
// The rules of database.hpp hold: a Connection runs one operation at a time
// (a second fails with Errc::operation_in_progress), a Connection cancelled
// mid-operation is broken (Errc::connection_closed from then on), and direct
// operations borrow a place under Options::max_connections or fail with
// Errc::too_many_connections at once. SQLite's own errors are codes of
// sqlitedb::category() ("sqlite"), whose conditions are mockdb::ErrorClass.
//
// The database needs a file: an in-memory database (":memory:") is private to
// the one connection that opened it, so the workers would each see an empty
// database of their own; sharing one through "cache=shared" makes them take
// table-level locks that fail with SQLITE_LOCKED at once instead of waiting,
// and gives up WAL. Use a temporary file instead (the tests do).
//
// Destroy the database before the io_context its callers run on: pending
// operations are completed with operation_aborted (posted to their
// executors) when it is destroyed.
#pragma once

#include <boost/system/error_category.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "mockdb/database.hpp"

struct sqlite3;

namespace sqlitedb {

/// How a SqliteDatabase opens its file and sizes its pool.
struct Options {
  /// The database file; created if missing. Must be a file, not ":memory:" (see above).
  std::string path;
  /// Worker threads, each with one sqlite3 connection: at most this many
  /// statements run at once; further operations wait in a queue.
  std::size_t threads = 2;
  /// At most this many open Connections plus direct operations in flight.
  std::size_t max_connections = 8;
  /// How long a statement waits for another connection's lock before it fails
  /// with SQLITE_BUSY (ErrorClass::unavailable).
  std::chrono::milliseconds busy_timeout{5000};
  /// Called on each worker thread right after it opened its connection, with
  /// that connection: for logging or tracing (sqlite3_trace_v2). It must not
  /// replace the busy or progress handlers, which carry cancellation.
  std::function<void(sqlite3*)> on_open{};
  /// Called on a worker thread each time an operation starts waiting for a
  /// lock that another connection holds: for logging, and for tests that must
  /// know an operation is blocked before they act.
  std::function<void()> on_lock_wait{};
};

/// What the pool is doing now; for demos and tests.
struct Stats {
  std::size_t queued = 0;            ///< Operations waiting for a worker.
  std::size_t running = 0;           ///< Operations a worker is running.
  std::size_t open_connections = 0;  ///< Open Connections plus borrowed places.
};

/// The error category of SQLite result codes; its name is "sqlite". A code's
/// value is SQLite's extended result code (or one of the refinements below),
/// and its condition is a mockdb::ErrorClass.
const boost::system::error_category& category() noexcept;

/// SQLite reports a missing table and a malformed statement with the same
/// code, SQLITE_ERROR (1). This backend tells them apart by the message and
/// gives each an extended code of its own, built as SQLite builds its own
/// (primary code | n << 8) with an n SQLite does not use.
inline constexpr int kErrorNoSuchTable = 1 | (200 << 8);
/// SQLITE_ERROR for a statement SQLite could not parse.
inline constexpr int kErrorSyntax = 1 | (201 << 8);

/// A DatabaseService over one SQLite file, with a pool of worker threads.
class SqliteDatabase final : public mockdb::DatabaseService {
 public:
  /// Starts `options.threads` workers; each opens its connection when it gets
  /// its first job, so a bad file is reported by the first operation.
  explicit SqliteDatabase(Options options);
  /// Abandons queued operations (they complete with operation_aborted),
  /// interrupts running ones and joins the workers.
  ~SqliteDatabase() override;
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;
  SqliteDatabase(SqliteDatabase&&) = delete;
  SqliteDatabase& operator=(SqliteDatabase&&) = delete;

  boost::asio::awaitable<std::unique_ptr<mockdb::Connection>> connect() override;
  boost::asio::awaitable<mockdb::Id> create(std::string table, mockdb::Row row) override;
  boost::asio::awaitable<std::optional<mockdb::Row>> read(std::string table,
                                                          mockdb::Id id) override;
  boost::asio::awaitable<bool> update(std::string table, mockdb::Id id,
                                      mockdb::Row fields) override;
  boost::asio::awaitable<bool> remove(std::string table, mockdb::Id id) override;
  boost::asio::awaitable<mockdb::Rows> query(std::string sql, mockdb::Params params = {}) override;

  /// A snapshot of the pool's queue and connection counts.
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sqlitedb
