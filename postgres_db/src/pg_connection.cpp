// The libpq event loop on Asio (see pg_connection.hpp).
//
// Every wait here is an async_wait on the connection's socket: "tell me when it is readable
// (or writable)". Nothing reads or writes the socket through Asio; libpq does that itself once
// we call it. That is why the descriptor is only borrowed: libpq owns the file descriptor, so
// we release() it before PQfinish closes it, and never let Asio close it.
#include "pg_connection.hpp"

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

namespace pgdb::detail {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using asio::posix::stream_descriptor;

namespace {

// Sent once on every new connection, as one simple-protocol message (one round trip).
//  - Notices ("table already exists, skipping") are not errors; do not send them.
//  - pg_temp.wb_typed() is how a query sees a JSON field as the type its operand has. A jsonb
//    field holds any type, and SQL needs one: the function returns the value when its type is
//    the expected one, NULL for JSON null or a missing field (SQL's NULL), and raises 42883
//    (undefined_function: "no operator for these types", what PostgreSQL says to `5 = 'a'`
//    between typed columns) for any other type. So a type mismatch is an error exactly in the
//    rows the query reads, like the mock's. It lives in pg_temp, this session's own schema:
//    creating it cannot race with another connection (a shared schema's CREATE OR REPLACE
//    can fail with "tuple concurrently updated"), it needs no privileges, and it vanishes with
//    the session. The price is one round trip per new connection, which the pool amortises.
constexpr const char* setup_sql = R"sql(
SET client_min_messages = warning;
CREATE FUNCTION pg_temp.wb_typed(v jsonb, expected text, ordered boolean, field text, row_id bigint)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
    RETURN NULL;
  END IF;
  IF jsonb_typeof(v) <> expected THEN
    RAISE EXCEPTION 'type mismatch: row % has % = % (a %), compared with a %',
      row_id, field, v, jsonb_typeof(v), expected
      USING ERRCODE = '42883', HINT = 'compare a field only with values of its own type';
  END IF;
  IF ordered AND expected IN ('array', 'object') THEN
    RAISE EXCEPTION 'field % holds an %, which has no order: compare it only with = or !=',
      field, expected USING ERRCODE = '22023';
  END IF;
  RETURN v;
END
$$;
)sql";

// libpq's messages end with a newline; DatabaseError's text reads better without.
std::string trimmed(const char* text) {
  std::string s = text != nullptr ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

const char* field(const PGresult* r, int code) {
  const char* value = PQresultErrorField(r, code);
  return value != nullptr ? value : "";
}

// A failure with no PGresult: the connection itself (a write or read failed, or it closed).
mockdb::DatabaseError connection_error(const PGconn* conn) {
  const char* state = PQstatus(conn) == CONNECTION_BAD ? "08006" : "XX000";
  return client_error(state, trimmed(PQerrorMessage(conn)));
}

// libpq 15 reports why a connection attempt failed only as text (the server's SQLSTATE is
// not kept), so the few transient refusals are recognised by their words.
mockdb::DatabaseError connect_error(const PGconn* conn) {
  std::string message = trimmed(PQerrorMessage(conn));
  const char* state = "08001";  // sqlclient_unable_to_establish_sqlconnection
  if (message.find("too many clients") != std::string::npos) {
    state = "53300";
  } else if (message.find("starting up") != std::string::npos ||
             message.find("shutting down") != std::string::npos ||
             message.find("recovery") != std::string::npos) {
    state = "57P03";
  }
  return client_error(state, std::move(message));
}

void ignore_notice(void* /*arg*/, const char* /*message*/) {}

}  // namespace

mockdb::DatabaseError client_error(const char* sqlstate, std::string message) {
  return {pgdb::make_error_code(sqlstate), mockdb::Diagnostics{std::move(message), sqlstate, {}}};
}

mockdb::DatabaseError error_from_result(const PGresult* result, const PGconn* conn) {
  std::string state = field(result, PG_DIAG_SQLSTATE);
  std::string message = field(result, PG_DIAG_MESSAGE_PRIMARY);
  if (message.empty()) message = trimmed(PQresultErrorMessage(result));
  // No SQLSTATE: libpq made this result itself, typically because the connection dropped.
  if (state.empty()) state = PQstatus(conn) == CONNECTION_BAD ? "08006" : "XX000";
  mockdb::Diagnostics diagnostics{std::move(message), state, std::nullopt};
  // The server counts characters from 1; Diagnostics from 0.
  const std::string position = field(result, PG_DIAG_STATEMENT_POSITION);
  if (!position.empty()) diagnostics.position = std::stoul(position) - 1;
  return {pgdb::make_error_code(state), std::move(diagnostics)};
}

PgConnection::PgConnection(const asio::any_io_executor& executor, ConnHandle conn,
                           std::shared_ptr<Canceller> canceller)
    : conn_(std::move(conn)), socket_(executor), canceller_(std::move(canceller)) {}

PgConnection::~PgConnection() {
  if (const auto resender = resender_.lock()) resender->stop();
  // libpq owns the descriptor: take it back from Asio (which deregisters it) without closing.
  if (socket_.is_open()) (void)socket_.release();
  if (!busy_ || !conn_ || !canceller_) return;  // idle: PQfinish (conn_'s deleter) is enough
  // A statement is still running on the server (our caller stopped waiting for it). Closing
  // the socket alone would not stop it: a backend waiting for a lock does not notice that its
  // client left. So send a cancel request first, then close, on the canceller's threads.
  // The task owns the connection, not this object, nor the pool.
  std::unique_ptr<PGcancel, decltype(&PQfreeCancel)> cancel(PQgetCancel(conn_.get()),
                                                            &PQfreeCancel);
  try {
    asio::post(canceller_->pool, [conn = std::move(conn_), cancel = std::move(cancel)]() {
      std::array<char, 256> error{};
      if (cancel) (void)PQcancel(cancel.get(), error.data(), static_cast<int>(error.size()));
      // conn's deleter now closes the connection; the server ends its backend.
    });
  } catch (...) {
    // Out of memory for the task: the connection closes here, without the cancel request.
  }
}

asio::awaitable<std::unique_ptr<PgConnection>> PgConnection::open(
    asio::any_io_executor executor, const std::string& conninfo,
    std::shared_ptr<Canceller> canceller) {
  // expand_dbname = 1: "dbname" may hold a whole connection string or URI. An empty one is
  // left out, so libpq falls back to the PG* environment variables.
  const char* keys[] = {"dbname", "fallback_application_name", nullptr};
  const char* values[] = {conninfo.c_str(), "pgdb", nullptr};
  const int skip = conninfo.empty() ? 1 : 0;
  ConnHandle conn(PQconnectStartParams(keys + skip, values + skip, 1));
  if (!conn) throw std::bad_alloc();
  if (PQstatus(conn.get()) == CONNECTION_BAD) throw connect_error(conn.get());

  std::unique_ptr<PgConnection> self(
      new PgConnection(executor, std::move(conn), std::move(canceller)));
  co_await self->connect_poll();

  PGconn* c = self->conn_.get();
  // From here on libpq never blocks: a send that cannot complete leaves the rest in its
  // buffer, and PQflush says so.
  if (PQsetnonblocking(c, 1) != 0) throw connection_error(c);
  PQsetNoticeProcessor(c, &ignore_notice, nullptr);
  // Named, not temporaries: GCC 12 destroys some temporaries of a co_await expression twice.
  const Statement setup{setup_sql, {}};
  const Result done = co_await self->exec(setup);
  co_return self;
}

// Drives PQconnectPoll: it says whether it waits to read or to write, we wait for that, and
// call it again, until it says OK or FAILED.
asio::awaitable<void> PgConnection::connect_poll() {
  PGconn* c = conn_.get();
  // The libpq manual: after PQconnectStart, behave as if PQconnectPoll said "writing".
  PostgresPollingStatusType status = PGRES_POLLING_WRITING;
  for (;;) {
    if (status == PGRES_POLLING_OK) co_return;
    if (status == PGRES_POLLING_FAILED) throw connect_error(c);
    // The socket may change between steps (libpq tries the next host or address, or retries
    // without SSL), and a new socket can reuse the old number, so wrap it afresh every time.
    rewrap_socket();
    co_await wait(status == PGRES_POLLING_READING ? Want::read : Want::write);
    status = PQconnectPoll(c);
  }
}

void PgConnection::rewrap_socket() {
  if (socket_.is_open()) (void)socket_.release();
  const int fd = PQsocket(conn_.get());
  if (fd < 0) throw connect_error(conn_.get());
  socket_.assign(fd);
}

asio::awaitable<void> PgConnection::wait(Want want) {
  // use_awaitable ties the wait to the awaiting coroutine's cancellation slot: a cancelled
  // caller stops waiting here, with operation_aborted, leaving busy_ set.
  co_await socket_.async_wait(
      want == Want::read ? stream_descriptor::wait_read : stream_descriptor::wait_write,
      asio::use_awaitable);
}

// Sends what libpq has buffered. PQflush returns 1 while data remains; the manual says to wait
// until the socket is read-ready OR write-ready then: the server may be blocked sending us
// results (of earlier pipelined statements) and will not read more until we read. So when it
// is readable we read (PQconsumeInput) and flush again.
asio::awaitable<void> PgConnection::flush() {
  PGconn* c = conn_.get();
  for (;;) {
    const int pending = PQflush(c);
    if (pending == 0) co_return;
    if (pending < 0) throw connection_error(c);
    const auto ready =
        co_await (socket_.async_wait(stream_descriptor::wait_read, asio::use_awaitable) ||
                  socket_.async_wait(stream_descriptor::wait_write, asio::use_awaitable));
    if (ready.index() == 0 && PQconsumeInput(c) == 0) throw connection_error(c);
  }
}

// The next result of the statement in flight, or null when it has no more. PQisBusy says
// whether PQgetResult would block; until it would not, wait for input and hand it to libpq.
asio::awaitable<Result> PgConnection::next_result() {
  PGconn* c = conn_.get();
  while (PQisBusy(c) != 0) {
    co_await wait(Want::read);
    if (PQconsumeInput(c) == 0) {
      // The read failed (the server closed the connection). libpq has usually queued a
      // result that says so; if it has not, say it ourselves rather than wait forever.
      if (PQisBusy(c) != 0) throw connection_error(c);
      break;
    }
  }
  co_return Result(PQgetResult(c));
}

// Reads every result of one statement, up to the null that ends them. The first error is
// kept and thrown at the end: stopping early would leave results unread, and the next
// statement would find them.
asio::awaitable<Result> PgConnection::collect() {
  Result last;
  Result error;
  while (Result r = co_await next_result()) {
    const ExecStatusType status = PQresultStatus(r.get());
    if (status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE) {
      if (!error) error = std::move(r);
    } else if (!error) {
      last = std::move(r);
    }
    // A connection that has gone bad sends nothing more; do not wait for it.
    if (PQstatus(conn_.get()) == CONNECTION_BAD) break;
  }
  // Every result is read: the connection can take the next statement, even after an error.
  busy_ = false;
  if (error) throw error_from_result(error.get(), conn_.get());
  co_return last;
}

void PgConnection::send(const Statement& statement) {
  PGconn* c = conn_.get();
  int sent = 0;
  if (statement.params.empty() && PQpipelineStatus(c) == PQ_PIPELINE_OFF) {
    // The simple protocol: one message, possibly several statements (setup_sql). Pipeline
    // mode allows only the extended protocol, below.
    sent = PQsendQuery(c, statement.sql.c_str());
  } else {
    std::vector<const char*> values;
    values.reserve(statement.params.size());
    for (const auto& p : statement.params) values.push_back(p ? p->c_str() : nullptr);
    // Types are left to the server (each $n is cast in the SQL), values are text.
    sent = PQsendQueryParams(c, statement.sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  }
  if (sent == 0) throw connection_error(c);
}

asio::awaitable<Result> PgConnection::exec(const Statement& statement) {
  busy_ = true;
  send(statement);
  try {
    co_await flush();
    co_return co_await collect();  // a server error is thrown here, the rest all read
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted) throw;
    // The caller's cancellation ended a wait; what follows awaits, which a handler cannot.
  }
  // A cancelled coroutine's every later co_await throws operation_aborted at once, of an
  // async operation or of another coroutine alike (Boost 1.81, boost/asio/impl/awaitable.hpp,
  // await_transform). The clean-up below must await, so it turns that off for its duration,
  // and back on after it: the caller's own next co_await still sees the cancellation.
  const bool was_throwing = co_await asio::this_coro::throw_if_cancelled();
  co_await asio::this_coro::throw_if_cancelled(false);
  std::optional<Result> outcome;
  std::exception_ptr failure;
  try {
    outcome = co_await cancel_in_flight();
  } catch (...) {
    failure = std::current_exception();
  }
  co_await asio::this_coro::throw_if_cancelled(was_throwing);
  if (failure) std::rethrow_exception(failure);
  if (!outcome) throw boost::system::system_error(asio::error::operation_aborted);
  co_return std::move(*outcome);  // it finished before the cancel request: not cancelled
}

// The caller cancelled while its statement was in flight. Telling the caller "cancelled" at
// once would be a lie: the statement may still run on the server (a backend waiting for a
// lock does not notice that its client left), and a write that then commits would be a write
// the caller believes did not happen. So ask the server to cancel it, and wait for the
// statement's own outcome:
//  - 57014 query_canceled: it did not happen; nullopt (the caller gets operation_aborted);
//  - success: it finished before the request arrived; its result (the caller gets it, as with
//    any Asio operation that completes before a cancellation can take effect);
//  - no answer within kCancelWait, or a second cancellation: nullopt, and the connection is
//    left busy, so it is closed, and its destructor sends the cancel request again; the server
//    ends the statement when it notices.
// Either way the connection is not reused (see reusable()): the workbook's rule is that a
// connection cancelled midway is broken, whatever state libpq says it is in.
asio::awaitable<std::optional<Result>> PgConnection::cancel_in_flight() {
  broken_ = true;
  auto resender = std::make_shared<CancelResender>(
      socket_, canceller_, std::shared_ptr<PGcancel>(PQgetCancel(conn_.get()), &PQfreeCancel));
  resender_ = resender;  // the destructor stops it, should this frame be destroyed midway
  resender->start();
  std::optional<Result> outcome;
  try {
    outcome = co_await outcome_after_cancel();
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted) throw;  // the statement's own error
  }
  resender->stop();
  co_return outcome;
}

// Sends the cancel request, and sends it again every kCancelResend until stop(): a request
// that reaches the server before the statement does is ignored (the backend drops a cancel
// that arrives while it is still reading the next command), and the statement then runs.
// After kCancelWait it gives up and stops the wait on the socket. PQcancel blocks until the
// server has the request, so it runs on the canceller's threads, never on the event loop.
void PgConnection::CancelResender::start() {
  send();
  arm();
}

void PgConnection::CancelResender::stop() {
  stopped_ = true;
  socket_ = nullptr;  // the connection may be gone by the time the timer's handler runs
  timer_.cancel();
}

void PgConnection::CancelResender::send() {
  asio::post(canceller_->pool, [request = request_] {
    std::array<char, 256> error{};
    if (request) (void)PQcancel(request.get(), error.data(), static_cast<int>(error.size()));
  });
}

void PgConnection::CancelResender::arm() {
  timer_.expires_after(kCancelResend);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->stopped_) return;
    self->waited_ += kCancelResend;
    if (self->waited_ >= kCancelWait) {
      self->socket_->cancel();  // no answer: the drain ends with operation_aborted
      return;
    }
    self->send();
    self->arm();
  });
}

// The statement's outcome after a cancel request: its result, or nothing if the server
// cancelled it (57014). Any other error is the statement's own, and is thrown.
asio::awaitable<std::optional<Result>> PgConnection::outcome_after_cancel() {
  try {
    co_return co_await collect();
  } catch (const mockdb::DatabaseError& e) {
    if (e.code() != pgdb::make_error_code("57014")) throw;
  }
  co_return std::nullopt;
}

asio::awaitable<std::vector<Result>> PgConnection::exec_pipeline(
    const std::vector<Statement>& batch) {
  PGconn* c = conn_.get();
  busy_ = true;
  if (PQenterPipelineMode(c) == 0) throw connection_error(c);
  for (const Statement& s : batch) send(s);
  // The sync point ends the pipeline's implicit transaction: all of it commits, or none.
  if (PQpipelineSync(c) == 0) throw connection_error(c);
  co_await flush();

  std::vector<Result> results;
  results.reserve(batch.size());
  Result error;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    // In pipeline mode each statement's results end with a null of their own. After a
    // failure, the statements that follow report PGRES_PIPELINE_ABORTED (they did not run).
    Result last;
    while (Result r = co_await next_result()) {
      const ExecStatusType status = PQresultStatus(r.get());
      if (status == PGRES_FATAL_ERROR && !error) {
        error = std::move(r);
      } else if (status != PGRES_PIPELINE_ABORTED) {
        last = std::move(r);
      }
    }
    if (PQstatus(c) == CONNECTION_BAD) throw connection_error(c);
    results.push_back(std::move(last));
  }
  Result sync = co_await next_result();
  if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) throw connection_error(c);
  if (PQexitPipelineMode(c) == 0) {
    // Still a result to collect (libpq may report the end of the queue with one more null).
    const Result end = co_await next_result();
    if (PQexitPipelineMode(c) == 0) throw connection_error(c);
  }
  busy_ = false;
  if (error) throw error_from_result(error.get(), c);
  co_return results;
}

bool PgConnection::reusable() const noexcept {
  return !busy_ && !broken_ && conn_ && PQstatus(conn_.get()) == CONNECTION_OK &&
         PQtransactionStatus(conn_.get()) == PQTRANS_IDLE;
}

}  // namespace pgdb::detail
