// One worker thread's sqlite3 connection, and the operations run on it
// (internal to sqlite_db). A Session is created, used and destroyed on one
// worker thread only; nothing else ever touches its sqlite3 handle.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>

#include "mockdb/row.hpp"
#include "sqlitedb/sqlite_database.hpp"
#include "translate.hpp"

namespace sqlitedb::detail {

/// A job's cancellation request, set by the caller's thread and read by the
/// worker running the job. The flag is atomic so that SQLite's progress
/// handler can poll it cheaply; the condition variable wakes a worker that is
/// waiting for a lock (the busy handler) at once.
class CancelFlag {
 public:
  /// Asks the job to stop. Safe from any thread.
  void request() {
    {
      std::lock_guard lock(mutex_);
      requested_.store(true);
    }
    wake_.notify_all();
  }
  /// True once request() was called.
  bool requested() const noexcept { return requested_.load(); }
  /// Waits up to `d`; returns true if cancellation was requested meanwhile.
  bool wait_for(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex_);
    return wake_.wait_for(lock, d, [this] { return requested_.load(); });
  }

 private:
  std::atomic<bool> requested_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
};

/// A worker's connection. Opened lazily by the first job (so a bad file is
/// that job's error, and a failed open is retried by the next job).
class Session {
 public:
  /// `open_mutex` is shared by the pool's sessions: they open one at a time.
  Session(const Options& options, std::mutex& open_mutex)
      : options_(&options), open_mutex_(&open_mutex) {}
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  Session(Session&&) = delete;
  Session& operator=(Session&&) = delete;

  /// Runs before each job: opens the connection if needed and points the
  /// busy and progress handlers at this job's cancellation flag.
  void start_job(CancelFlag& cancel);
  /// Runs after each job: rolls back whatever the job left open, so the next
  /// job starts clean; a connection that cannot roll back is closed.
  void end_job() noexcept;
  /// Closes the connection after a failure of the connection itself; the
  /// next job opens a fresh one.
  void discard() noexcept { close(); }

  mockdb::Id create(const std::string& table, mockdb::Row row);
  std::optional<mockdb::Row> read(const std::string& table, mockdb::Id id);
  bool update(const std::string& table, mockdb::Id id, const mockdb::Row& fields);
  bool remove(const std::string& table, mockdb::Id id);
  mockdb::Rows query(const Statement& statement);

 private:
  class Stmt;
  class WriteTransaction;

  void open();
  void close() noexcept;
  [[noreturn]] void fail(int rc);
  void exec(const std::string& sql);
  Stmt prepare(const std::string& sql);
  std::optional<Stmt> prepare_if_table_exists(const std::string& sql);
  bool step(Stmt& statement);

  static int on_busy(void* self, int count);
  static int on_progress(void* self);

  const Options* options_;
  std::mutex* open_mutex_;
  sqlite3* db_ = nullptr;
  CancelFlag* cancel_ = nullptr;  // the running job's flag
  std::chrono::steady_clock::time_point busy_since_;
};

}  // namespace sqlitedb::detail
