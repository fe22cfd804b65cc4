// The worker pool: queues of jobs, the threads that run them, and the
// bookkeeping of connections and places under max_connections (internal to
// sqlite_db). Jobs arrive from callers' threads and are completed by posting
// to each caller's executor; see sqlite_database.cpp for that side.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "session.hpp"
#include "sqlitedb/sqlite_database.hpp"

namespace sqlitedb::detail {

/// A logical Connection: pinned to one worker, one operation at a time.
/// Guarded by Core::mutex.
struct ConnectionState {
  std::size_t worker = 0;  // whose queue its jobs go to
  bool busy = false;       // an operation is in progress
  bool broken = false;     // cancelled mid-operation, or the connection failed
  bool closed = false;     // closed: its place under max_connections is free
};

/// One operation on its way through the pool.
class Job {
 public:
  enum class State { queued, running, done };
  virtual ~Job() = default;
  Job() = default;
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;
  Job(Job&&) = delete;
  Job& operator=(Job&&) = delete;

  /// Runs the operation on a worker's session; throws on failure.
  virtual void run(Session& session) = 0;
  /// Hands the outcome to the caller's executor (never runs the caller inline).
  virtual void complete() = 0;

  CancelFlag cancel;                            // set by the caller's cancellation slot
  std::exception_ptr error;                     // the outcome, if it failed
  std::shared_ptr<ConnectionState> connection;  // null for a direct operation
  bool opens_connection = false;                // connect(): the job that opens `connection`
  // Guarded by Core::mutex:
  State state = State::queued;
  bool holds_place = false;  // a direct operation's borrowed place
  // Accepted by submit(): it holds its Connection busy (or a place) until
  // release(), when its outcome reaches the caller.
  bool accepted = false;
};

/// What the pool's threads share with the database, its connections and the
/// jobs' cancellation handlers; kept alive by any of them (shared_ptr), so a
/// Connection that outlives its database fails cleanly instead of crashing.
class Core {
 public:
  explicit Core(Options options);

  /// Queues `job`, or refuses it (too many connections, a busy, closed or
  /// broken connection, a destroyed database) and completes it with that error.
  void submit(const std::shared_ptr<Job>& job);
  /// The caller's cancellation: a queued job is dropped and completed with
  /// operation_aborted; a running one is asked to stop (its worker completes it).
  void cancel(const std::shared_ptr<Job>& job);
  /// Closes a Connection: its place is free again. Harmless twice.
  void close(ConnectionState& connection);
  /// The next job for worker `index` (its pinned queue first), or null when
  /// the pool stops. Blocks.
  std::shared_ptr<Job> next(std::size_t index);
  /// Called by the worker after `job` ran.
  void finished(Job& job);
  /// Called on the caller's executor just before the caller gets `job`'s
  /// outcome: frees its Connection for the next operation (or its borrowed
  /// place), and breaks the Connection if the job was cancelled midway or the
  /// connection failed. Not earlier: until the caller has the outcome, the
  /// operation is still in progress for it, as in the mock and in libpq.
  void release(Job& job);
  /// Drops every queued job (completed with operation_aborted), asks every
  /// running one to stop, and wakes the workers so they exit.
  void stop();
  /// A connection number for connect(): the worker it is pinned to.
  std::size_t pick_worker();
  Stats stats() const;

  const Options options;
  /// Held by a worker while it opens its connection (see Session::open).
  std::mutex open_mutex;

 private:
  void end_locked(Job& job);
  std::deque<std::shared_ptr<Job>>& queue_of(const Job& job);

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> shared_queue_;                // direct operations
  std::vector<std::deque<std::shared_ptr<Job>>> pinned_queues_;  // per worker
  std::vector<std::shared_ptr<Job>> running_;                    // per worker
  std::size_t open_ = 0;                                         // Connections plus borrowed places
  std::size_t next_worker_ = 0;
  bool stopping_ = false;
};

/// The worker thread's loop: one Session, one job at a time, until stop().
void worker_main(const std::shared_ptr<Core>& core, std::size_t index);

}  // namespace sqlitedb::detail
