// Chapter 07 — holding a lock across co_await.
//
// A connection pool hands out at most `size` database connections. It opens
// them lazily (db.connect() takes the connect latency and counts against the
// database's connection limit) and reuses them: a PooledConnection gives its
// connection back to the pool when it is destroyed. Many coroutines share the
// pool on one event-loop thread. The pitfall (chapters/) and the fix
// (solutions/) define the pool in connection_pool.cpp; this header is their
// shared interface, and each variant defines the pool's State privately.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "mockdb/database.hpp"

namespace ch07 {

class ConnectionPool;

/// A connection borrowed from a ConnectionPool; destroying it gives the
/// connection back. It must not outlive its pool.
class PooledConnection {
 public:
  /// Takes `connection` on behalf of `pool` (called by ConnectionPool::acquire).
  PooledConnection(ConnectionPool& pool, std::unique_ptr<mockdb::Connection> connection) noexcept
      : pool_(&pool), connection_(std::move(connection)) {}
  /// Gives the connection back to the pool.
  ~PooledConnection();
  /// Moves the loan; the moved-from handle gives nothing back.
  PooledConnection(PooledConnection&& other) noexcept = default;
  PooledConnection& operator=(PooledConnection&&) = delete;
  PooledConnection(const PooledConnection&) = delete;
  PooledConnection& operator=(const PooledConnection&) = delete;

  /// The borrowed connection.
  mockdb::Connection& operator*() const noexcept { return *connection_; }
  /// The borrowed connection's operations (`connection->query(...)`).
  mockdb::Connection* operator->() const noexcept { return connection_.get(); }

 private:
  ConnectionPool* pool_;
  std::unique_ptr<mockdb::Connection> connection_;
};

/// At most `size` connections to `db`, opened on demand and reused.
class ConnectionPool {
 public:
  /// A pool of up to `size` connections to `db`, for coroutines running on
  /// `executor`. Opens no connection yet.
  ConnectionPool(const boost::asio::any_io_executor& executor, mockdb::DatabaseService& db,
                 std::size_t size);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  /// A connection for the caller's exclusive use: an idle one, or a new one
  /// if fewer than `size` are open; otherwise waits until one is given back.
  [[nodiscard]] boost::asio::awaitable<PooledConnection> acquire();

  /// The most connections this pool opens.
  std::size_t size() const noexcept { return size_; }

 private:
  friend class PooledConnection;
  /// Takes back a connection lent by acquire().
  void give_back(std::unique_ptr<mockdb::Connection> connection) noexcept;

  struct State;  // defined by each variant
  mockdb::DatabaseService& db_;
  std::size_t size_;
  std::unique_ptr<State> state_;
};

/// Runs `sql` with `params` on a connection borrowed from `pool`.
boost::asio::awaitable<mockdb::Rows> run_query(ConnectionPool& pool, std::string sql,
                                               mockdb::Params params);

// ---- provided (support.cpp) ----

/// An asynchronous counting semaphore built on an Asio channel: the channel
/// holds one token per free place; acquire() receives a token (suspending
/// while there is none), release() sends one back. Safe on several threads.
class AsyncSemaphore {
 public:
  /// `count` free places, for coroutines running on `executor`.
  AsyncSemaphore(const boost::asio::any_io_executor& executor, std::size_t count);

  /// Takes a place, suspending the calling coroutine until one is free.
  [[nodiscard]] boost::asio::awaitable<void> acquire();
  /// Gives a place back (wakes one waiting acquire(), if any). A release that
  /// no acquire() matches, because no place is taken (a place given back
  /// twice), is a bug that would let one caller too many in: it gives
  /// nothing back, says so on stderr, and counts in over_releases().
  void release() noexcept;

  /// How many release() calls, on every AsyncSemaphore of this process so
  /// far, found no place taken. The chapter's tests expect none.
  static std::size_t over_releases() noexcept;

  /// For the chapter's multi-threaded test: after a release() that wakes a
  /// waiting acquire(), the releasing thread pauses this long (default 0: not
  /// at all), as if the operating system preempted it there. The woken caller
  /// then runs on another loop thread before the releasing caller goes on,
  /// so code that frees a place before the state it guards is ready fails
  /// every time instead of once in a million runs.
  static void pause_after_wakeup(std::chrono::microseconds pause) noexcept;

 private:
  boost::asio::experimental::concurrent_channel<void(boost::system::error_code)> tokens_;
  std::size_t count_;
  std::atomic<std::size_t> taken_{0};    // places acquired and not given back
  std::atomic<std::size_t> waiting_{0};  // acquire() calls waiting for a token
  std::atomic<bool> reported_{false};    // an over-release was printed already
};

/// Gives a place of an AsyncSemaphore back when the scope ends.
class [[nodiscard]] SemaphoreRelease {
 public:
  /// Will release one place of `semaphore`.
  explicit SemaphoreRelease(AsyncSemaphore& semaphore) noexcept : semaphore_(semaphore) {}
  ~SemaphoreRelease() { semaphore_.release(); }
  SemaphoreRelease(const SemaphoreRelease&) = delete;
  SemaphoreRelease& operator=(const SemaphoreRelease&) = delete;

 private:
  AsyncSemaphore& semaphore_;
};

/// The other way to get a lock across co_await "right": an asynchronous lock
/// (an AsyncSemaphore of one place) held for the whole query. It never blocks
/// the thread and never deadlocks, but it lets only one query run at a time,
/// on one connection. The lesson's reference point, not a pool to copy.
class SerialisedPool {
 public:
  /// One connection to `db`, opened on first use, for coroutines on `executor`.
  SerialisedPool(const boost::asio::any_io_executor& executor, mockdb::DatabaseService& db);

  /// Runs `sql` with `params`, after every query that started before it.
  boost::asio::awaitable<mockdb::Rows> query(std::string sql, mockdb::Params params);

 private:
  mockdb::DatabaseService& db_;
  AsyncSemaphore lock_;
  std::unique_ptr<mockdb::Connection> connection_;
};

/// Adds `count` rows to table "notes": {"n": i, "title": "note i"} for i = 1..count.
boost::asio::awaitable<void> add_notes(mockdb::DatabaseService& db, int count);

/// The query run_query() is exercised with: the note whose "n" is $1.
inline constexpr const char* kNoteQuery = "SELECT * FROM notes WHERE n = $1";

}  // namespace ch07
