// pg_temp_server: runs a command beside a throwaway PostgreSQL server.
//
//   pg_temp_server COMMAND [ARG...]
//
// Starts a PostgreSQL 15 server in a fresh temporary directory (pgdb::testing::TemporaryServer:
// a Unix socket only, trust authentication, run as the postgres user when started by root),
// runs COMMAND with PGHOST, PGPORT, PGUSER and PGDATABASE naming it, then stops the server and
// removes its directory, and exits with COMMAND's status. ./workbook runs the test suite and
// the tour this way, so that every test program shares one server. The server stops with this
// program even if it is killed (the kernel sends it SIGQUIT: PR_SET_PDEATHSIG).
//
// With PGHOST already set, the server it names is used: COMMAND runs as it is. Where no server
// can be started, COMMAND runs without one, after a note that says why; the PostgreSQL tests
// then say the same, and skip (or fail, under CI=true).
#include <libpq-fe.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>

#include "pgdb/testing/temporary_server.hpp"

namespace {

pid_t child = -1;

// Passes Ctrl-C and termination on to the command, which ends, and then so does the server.
void forward(int signal) {
  if (child > 0) kill(child, signal);
}

// Sets PGHOST, PGPORT, PGUSER and PGDATABASE from a libpq connection string.
void export_connection(const std::string& conninfo) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
      PQconninfoParse(conninfo.c_str(), &error), &PQconninfoFree);
  if (!options) {
    std::fprintf(stderr, "pg_temp_server: cannot read the server's address '%s': %s\n",
                 conninfo.c_str(), error != nullptr ? error : "out of memory");
    PQfreemem(error);
    std::exit(1);
  }
  for (PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string key = o->keyword;
    if (key == "host") setenv("PGHOST", o->val, 1);
    if (key == "port") setenv("PGPORT", o->val, 1);
    if (key == "user") setenv("PGUSER", o->val, 1);
    if (key == "dbname") setenv("PGDATABASE", o->val, 1);
  }
}

int run(char** command) {
  child = fork();
  if (child < 0) {
    std::perror("pg_temp_server: fork");
    return 1;
  }
  if (child == 0) {
    execvp(command[0], command);
    std::fprintf(stderr, "pg_temp_server: cannot run %s: ", command[0]);
    std::perror(nullptr);
    _exit(127);
  }
  std::signal(SIGINT, forward);
  std::signal(SIGTERM, forward);
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: pg_temp_server COMMAND [ARG...]\n");
    return 2;
  }
  if (std::getenv("PGHOST") != nullptr) return run(argv + 1);  // a server of the user's own
  std::unique_ptr<pgdb::testing::TemporaryServer> server;
  try {
    server = std::make_unique<pgdb::testing::TemporaryServer>();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "note: no PostgreSQL server for this run: %s\n", e.what());
    return run(argv + 1);
  }
  export_connection(server->conninfo());
  const int status = run(argv + 1);
  server.reset();  // stops the server, removes its directory
  return status;
}
