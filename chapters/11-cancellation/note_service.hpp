// Chapter 11 — cancellation: who owns an operation, and what a cancelled one
// leaves behind.
//
// The notes service reads and writes through a small pool of connections.
// Reads are hedged: if the first read has not answered by the database's p95
// latency, a second read goes out on another connection, the first answer
// wins, and the other read is cancelled. A save is two writes (the note, then
// its history entry) that must land both or neither. And any request may be
// abandoned by its caller (a client that went away, the losing side of `||`):
// then nothing it started may go on running, holding a connection nobody
// wants. The pitfall (chapters/) and the fix (solutions/) define read_note()
// and save_note() in note_service.cpp; this header is their shared interface,
// and support.cpp provides the pool and the single read.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mockdb/database.hpp"
#include "workbook/clock.hpp"
#include "workbook/trace.hpp"

namespace ch11 {

/// The table the notes live in.
inline constexpr const char* kNotesTable = "notes";
/// The table of history entries: one per saved note, {"note": id, "event": "created"}.
inline constexpr const char* kHistoryTable = "note_history";

class ConnectionPool;

/// A connection borrowed from a ConnectionPool, for one coroutine at a time.
/// Destroying it gives the connection back (RAII: also when the coroutine
/// holding it is cancelled, or its frame destroyed). Its operations keep
/// track of whether they finished: a connection whose operation was
/// cancelled midway is broken (see mockdb/database.hpp), so it is closed
/// instead of given back, and the pool opens a fresh one in its place.
class Lease {
 public:
  /// Takes `connection` on behalf of `pool` (called by ConnectionPool::acquire).
  Lease(ConnectionPool& pool, std::unique_ptr<mockdb::Connection> connection) noexcept;
  /// Gives the connection back (or closes it, if an operation on it did not finish).
  ~Lease();
  /// Moves the loan; the moved-from lease gives nothing back.
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  /// The row `id` of `table` (see mockdb::Queryable::read).
  [[nodiscard]] boost::asio::awaitable<std::optional<mockdb::Row>> read(std::string table,
                                                                        mockdb::Id id);
  /// Inserts `row` into `table` (see mockdb::Queryable::create).
  [[nodiscard]] boost::asio::awaitable<mockdb::Id> create(std::string table, mockdb::Row row);

 private:
  ConnectionPool* pool_;
  std::unique_ptr<mockdb::Connection> connection_;
  bool in_doubt_ = false;  // an operation began and has not finished cleanly
};

/// At most `size` connections to `db`, opened on demand and reused. Callers
/// beyond `size` wait (asynchronously) for a connection to come back. For
/// coroutines on one event-loop thread.
class ConnectionPool {
 public:
  /// A pool of up to `size` connections to `db`, for coroutines running on
  /// `executor`. If `trace` is given, every wait for a connection is a span
  /// "wait" there (key "pool"), so a timeline shows who waited, and how long.
  ConnectionPool(const boost::asio::any_io_executor& executor, mockdb::DatabaseService& db,
                 std::size_t size, workbook::Trace* trace = nullptr);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  /// A connection for the caller's use, once one is free. Cancellable while it
  /// waits: it then ends with operation_aborted and takes nothing.
  [[nodiscard]] boost::asio::awaitable<Lease> acquire();

  /// The most connections this pool lends at once.
  std::size_t size() const noexcept { return size_; }
  /// Connections lent out now (leases alive).
  std::size_t lent() const noexcept { return lent_; }
  /// Places free now: size() minus those lent out or being opened.
  std::size_t available() const noexcept { return free_; }
  /// Connections closed because an operation on them did not finish.
  std::size_t discarded() const noexcept { return discarded_; }

 private:
  friend class Lease;
  friend class PoolPlace;
  void give_back(std::unique_ptr<mockdb::Connection> connection, bool sound) noexcept;
  void release_place() noexcept;

  mockdb::DatabaseService& db_;
  std::size_t size_;
  workbook::Trace* trace_;
  std::size_t free_;  // places nobody holds
  // Hands a place straight to a waiting acquire(). Unbuffered on purpose: in
  // Boost 1.81 a *buffered* channel whose last waiting receive is cancelled
  // refuses every try_send afterwards (experimental/detail/impl/
  // channel_service.hpp, cancel_by_key sets send_state_ to block), so a pool
  // of tokens in one would lose them as waiters give up.
  boost::asio::experimental::channel<void(boost::system::error_code)> handoff_;
  std::vector<std::unique_ptr<mockdb::Connection>> idle_;
  std::size_t lent_ = 0;
  std::size_t discarded_ = 0;
};

// ---- the exercise (note_service.cpp) ----

/// Reads note `id` through `pool`, hedged: if the first read has not answered
/// within `hedge_after` (the configured p95 latency of a read), sends a second
/// read alongside it (the first goes on: a hedge, not a restart), returns the
/// first answer, from either read, and cancels the other read.
///
/// When it returns or throws, every read it started has ended: completed, or
/// cancelled and its connection given back or closed. It sends no second read
/// when the first answers within `hedge_after`. Cancelled by its caller (the
/// slot of the handler awaiting it emits terminal cancellation: a client that
/// went away, the losing side of `||`), it cancels every read it started and
/// ends with operation_aborted once they have ended (thrown as such, or as the
/// first of a boost::asio::multiple_exceptions, which is how Boost 1.81's
/// operator|| reports that both of its operands failed). If every read it
/// sent fails, it throws the failure.
[[nodiscard]] boost::asio::awaitable<std::optional<mockdb::Row>> read_note(
    ConnectionPool& pool, mockdb::Id id, workbook::Clock::duration hedge_after);

/// Saves a note titled `title` and its history entry, on one connection of
/// `pool`, and returns the note's id. The two writes land both or neither:
/// cancelled while it waits for a connection, it writes nothing and ends with
/// operation_aborted at once; once the first write has begun, a cancellation
/// does not stop it halfway. When it returns or throws, no write it began is
/// running.
[[nodiscard]] boost::asio::awaitable<mockdb::Id> save_note(ConnectionPool& pool, std::string title);

// ---- provided (support.cpp) ----

/// One read of note `id` on a connection borrowed from `pool` (waiting for one
/// if none is free). Cancellable at every step; the lease gives the connection
/// back whatever happens.
[[nodiscard]] boost::asio::awaitable<std::optional<mockdb::Row>> read_once(ConnectionPool& pool,
                                                                           mockdb::Id id);

/// Waits `delay` (on the workbook clock), then read_once(pool, id): the hedge.
/// Cancelled during the wait, it sends no read.
[[nodiscard]] boost::asio::awaitable<std::optional<mockdb::Row>> read_after(
    workbook::Clock::duration delay, ConnectionPool& pool, mockdb::Id id);

/// Adds `count` notes titled "note 1", "note 2", ... (ids 1 to `count`), with
/// no history entries, straight on `db`.
[[nodiscard]] boost::asio::awaitable<void> add_sample_notes(mockdb::DatabaseService& db, int count);

}  // namespace ch11
