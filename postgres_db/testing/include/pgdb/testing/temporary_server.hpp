// A throwaway PostgreSQL server for tests: started in a fresh temporary directory, listening
// only on a Unix socket there, and gone (process and directory) when the object is destroyed.
//
//   pgdb::testing::TemporaryServer server;            // throws ServerUnavailable if it cannot
//   pgdb::PostgresDatabase db(executor, server.options());
//   ...
//   server.reset();                                   // drops every table, between tests
//
// If PGHOST is set, no server is started: the one PGHOST/PGPORT/PGUSER name is used, in a
// database of its own (pgdb_test_<pid>_<n>, created here and dropped by the destructor), so a
// test never touches the data of the server it borrows.
//
// The server is the test process's direct child, and asks the kernel (PR_SET_PDEATHSIG) to send
// it SIGQUIT when its parent dies: it stops with the test even when the test is killed with
// SIGKILL. (The signal follows the *thread* that started it: create the server on a thread that
// outlives it, e.g. the main thread.) The temporary directory of a killed test stays behind in
// $TMPDIR (pgdb-*); nothing else does.
#pragma once

#include <sys/types.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "pgdb/postgres_database.hpp"

namespace pgdb::testing {

/// Thrown when no server can be started (no PostgreSQL binaries, no way to run them). what()
/// says why, and how to provide a server.
class ServerUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A blocking libpq session, for test setup and inspection only (holding a lock while the code
/// under test waits for it, reading pg_stat_activity, terminating a backend).
class AdminSession {
 public:
  /// Connects to `conninfo`; throws std::runtime_error if it cannot.
  explicit AdminSession(const std::string& conninfo);
  ~AdminSession();
  AdminSession(const AdminSession&) = delete;
  AdminSession& operator=(const AdminSession&) = delete;

  /// Runs `sql` (one or more statements) and returns the last statement's rows as text (NULL
  /// as ""). Throws std::runtime_error with the server's message if it fails.
  std::vector<std::vector<std::string>> execute(const std::string& sql);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// A PostgreSQL server (PostgreSQL 15's binaries, found with pg_config --bindir or in
/// /usr/lib/postgresql/15/bin), or the one PGHOST names (see the top of this file).
class TemporaryServer {
 public:
  /// Starts the server and waits until it accepts connections. Throws ServerUnavailable if
  /// no server can be had, std::runtime_error (with the end of the server's log) if one was
  /// started but failed.
  TemporaryServer();
  /// Stops the server (SIGQUIT, then waits for it) and removes its directory.
  ~TemporaryServer();
  TemporaryServer(const TemporaryServer&) = delete;
  TemporaryServer& operator=(const TemporaryServer&) = delete;

  /// Options for a PostgresDatabase on this server (its conninfo, other fields defaulted).
  Options options() const;

  /// The libpq connection string of the test database.
  const std::string& conninfo() const noexcept { return conninfo_; }

  /// Drops every table of the test database (DROP SCHEMA public CASCADE, then CREATE SCHEMA
  /// public): a few milliseconds. Blocks; call it between tests, with no operation running.
  void reset() const;

  /// Runs `sql` (one or more statements) on a new connection of its own and returns the last
  /// statement's rows as text (NULL as ""). Blocking: for test setup and inspection only.
  std::vector<std::vector<std::string>> execute(const std::string& sql) const;

  /// True if this object started the server (false when PGHOST named one).
  bool started_here() const noexcept { return pid_ > 0; }

 private:
  void start_local();
  void use_external();
  std::string log_tail() const;

  std::string directory_;  // the temporary directory (data, socket, log); empty if external
  std::string conninfo_;
  std::string external_database_;  // the database made on an external server
  pid_t pid_ = -1;
};

/// The text for a test that cannot run without a server: `reason`, and how to provide one.
std::string how_to_provide_a_server(const std::string& reason);

/// True if the environment says this is CI (CI=true), where a missing server is a failure.
bool running_in_ci();

}  // namespace pgdb::testing
