// One libpq connection driven by Asio: the heart of the backend.
//
// libpq's asynchronous API does no waiting of its own. It says what it needs (to read or to
// write the socket) and we wait for that with Asio, so a coroutine suspends instead of a thread
// blocking. This class owns the PGconn and the Asio object that waits on its socket, and runs
// one conversation at a time: send a statement, flush it, read every result.
#pragma once

#include <libpq-fe.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mockdb/errors.hpp"
#include "pgdb/postgres_database.hpp"

namespace pgdb::detail {

/// PQfinish as a deleter: a PGconn is closed exactly once, whoever drops it last.
struct FinishConnection {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using ConnHandle = std::unique_ptr<PGconn, FinishConnection>;

/// PQclear as a deleter.
struct ClearResult {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ClearResult>;

/// A statement and its parameters in PostgreSQL's text format (nullopt is SQL NULL).
struct Statement {
  std::string sql;
  std::vector<std::optional<std::string>> params;
};

/// The threads that send cancel requests. PQcancel blocks (libpq 15 has no async cancel), so
/// it must not run on the event loop. join() in the destructor lets queued requests go out.
struct Canceller {
  explicit Canceller(std::size_t threads) : pool(threads == 0 ? 1 : threads) {}
  ~Canceller() { pool.join(); }
  Canceller(const Canceller&) = delete;
  Canceller& operator=(const Canceller&) = delete;
  boost::asio::thread_pool pool;
};

/// The DatabaseError for a failed result (its SQLSTATE and the server's diagnostics).
mockdb::DatabaseError error_from_result(const PGresult* result, const PGconn* conn);

/// A DatabaseError of pgdb::category() made on the client side.
mockdb::DatabaseError client_error(const char* sqlstate, std::string message);

/// One connection to the server (see the top of this file).
class PgConnection {
 public:
  /// Connects without blocking, then prepares the session (see setup_sql in the .cpp file).
  /// Throws DatabaseError (connection_failure, mostly) if the server cannot be reached.
  static boost::asio::awaitable<std::unique_ptr<PgConnection>> open(
      boost::asio::any_io_executor executor, const std::string& conninfo,
      std::shared_ptr<Canceller> canceller);

  /// Closes the connection. If a statement is still running (the operation was cancelled or
  /// abandoned), first asks the server to stop it, on the canceller's threads.
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  /// Runs one statement and returns its last result (the first error is thrown as a
  /// DatabaseError, after every result has been read, so the connection stays usable).
  boost::asio::awaitable<Result> exec(const Statement& statement);

  /// Runs several statements in pipeline mode, all sent before any reply is read, as one
  /// transaction (pipeline mode's implicit one, up to the sync point). Returns each one's
  /// result; throws the first error after reading everything.
  boost::asio::awaitable<std::vector<Result>> exec_pipeline(const std::vector<Statement>& batch);

  /// True if the connection can run another statement: it is up, no statement is in flight
  /// (a cancelled operation leaves one) and no transaction is open.
  bool reusable() const noexcept;

  /// The server process serving this connection (for pg_stat_activity, in tests).
  int backend_pid() const noexcept { return PQbackendPID(conn_.get()); }

 private:
  enum class Want { read, write };

  PgConnection(const boost::asio::any_io_executor& executor, ConnHandle conn,
               std::shared_ptr<Canceller> canceller);

  boost::asio::awaitable<void> connect_poll();
  void rewrap_socket();
  boost::asio::awaitable<void> wait(Want want);
  boost::asio::awaitable<void> flush();
  boost::asio::awaitable<Result> next_result();
  boost::asio::awaitable<Result> collect();
  boost::asio::awaitable<std::optional<Result>> cancel_in_flight();
  boost::asio::awaitable<std::optional<Result>> outcome_after_cancel();

  /// How long a cancelled statement's outcome is waited for before the connection is closed.
  static constexpr std::chrono::milliseconds kCancelWait{5000};
  /// How often the cancel request is sent again meanwhile (see CancelResender).
  static constexpr std::chrono::milliseconds kCancelResend{50};

  // Sends a cancel request for the statement in flight, and again every kCancelResend, until
  // stopped; after kCancelWait it cancels the wait on the socket (see the .cpp file).
  class CancelResender : public std::enable_shared_from_this<CancelResender> {
   public:
    CancelResender(boost::asio::posix::stream_descriptor& socket,
                   std::shared_ptr<Canceller> canceller, std::shared_ptr<PGcancel> request)
        : socket_(&socket),
          canceller_(std::move(canceller)),
          request_(std::move(request)),
          timer_(socket.get_executor()) {}
    void start();
    void stop();

   private:
    void send();
    void arm();
    boost::asio::posix::stream_descriptor* socket_;
    std::shared_ptr<Canceller> canceller_;
    std::shared_ptr<PGcancel> request_;
    boost::asio::steady_timer timer_;
    std::chrono::milliseconds waited_{0};
    bool stopped_ = false;
  };
  void send(const Statement& statement);

  ConnHandle conn_;
  boost::asio::posix::stream_descriptor socket_;
  std::shared_ptr<Canceller> canceller_;
  // Set while a statement is in flight; left set if its operation is abandoned midway, which
  // is how the destructor knows the server must be told to stop.
  bool busy_ = false;
  // Set when an operation was cancelled midway: never reused (the rule of database.hpp).
  bool broken_ = false;
  // Resends the cancel request of a cancelled statement while its outcome is awaited.
  std::weak_ptr<CancelResender> resender_;
};

}  // namespace pgdb::detail
