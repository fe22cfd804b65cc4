// PostgresDatabase: the workbook's DatabaseService on a real PostgreSQL server, over libpq's
// non-blocking API driven by Asio (no driver library in between: the event loop is the lesson).
//
// What it does, in the terms of mockdb/database.hpp:
//  - A workbook table T is a real table "T" (id bigint identity primary key, doc jsonb): the
//    row's JSON without "id". Queries are parsed with mockdb::parse_query() and translated to
//    SQL over doc, with every value bound as a parameter (never formatted into the SQL).
//  - It is a pool: at most Options::max_connections connections (the caller's own, from
//    connect(), and those its direct operations borrow). A direct operation takes an idle
//    connection, or opens one while under the limit, or fails at once with
//    mockdb::Errc::too_many_connections. It never queues.
//  - Every operation honours the awaiting coroutine's cancellation: the caller gets
//    operation_aborted at once, and the server is told to stop (PQcancel, on a small thread
//    pool because it blocks); the connection, whose conversation is now in an unknown state,
//    is discarded (a pooled one) or broken (the caller's own: connection_closed after).
//  - Server errors carry their SQLSTATE, in pgdb::category(), whose conditions are
//    mockdb::ErrorClass; client-side rules (pool exhausted, busy, closed) use mockdb::Errc.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mockdb/database.hpp"
#include "mockdb/errors.hpp"
#include "mockdb/row.hpp"

namespace pgdb {

/// The error category of PostgreSQL's SQLSTATE codes; its name is "postgresql". Each code's
/// default_error_condition() is a mockdb::ErrorClass (class 08 connection_failure, 53300
/// too_many_connections, 57P01-57P03/40001/40P01 unavailable, 42601 syntax_error, 42P01/42703
/// undefined_object, class 22/42883/08P01 invalid_parameter, 42501 insufficient_privilege,
/// 57014 timed_out), so code written against ErrorClass works on PostgreSQL unchanged.
const boost::system::error_category& category() noexcept;

/// The error_code for a five-character SQLSTATE such as "42P01" (digits and upper-case
/// letters). Anything else becomes "XX000" (internal_error).
boost::system::error_code make_error_code(std::string_view sqlstate) noexcept;

/// The SQLSTATE of a code of pgdb::category(), or "" for a code of another category.
std::string sqlstate(const boost::system::error_code& ec);

/// How to reach the server, and how the pool behaves.
struct Options {
  /// A libpq connection string ("host=/run/postgresql dbname=app") or URI. Empty: libpq's
  /// defaults, i.e. the PGHOST, PGPORT, PGUSER, PGDATABASE, ... environment variables.
  std::string conninfo;
  /// At most this many connections open at once, the caller's own included.
  std::size_t max_connections = 10;
  /// create_many() sends its statements in libpq's pipeline mode (one round trip for all),
  /// rather than one statement per round trip. Off, to measure the difference.
  bool pipeline = true;
  /// Threads that send cancel requests (PQcancel blocks until the server has the request).
  std::size_t cancel_threads = 1;
};

namespace detail {
struct Pool;
}

/// A mockdb::DatabaseService on PostgreSQL (see the top of this file).
///
/// Sockets are waited on through `executor`'s execution context, which must be run for any
/// operation to progress; each operation resumes its caller on the caller's own executor.
/// Member functions may be called from several threads. Destroying the database while
/// operations are in flight is safe: they keep what they use alive until they end.
class PostgresDatabase final : public mockdb::DatabaseService {
 public:
  /// A pool of connections to the server `options` names; none is opened yet.
  PostgresDatabase(boost::asio::any_io_executor executor, Options options = {});
  ~PostgresDatabase() override;
  PostgresDatabase(const PostgresDatabase&) = delete;
  PostgresDatabase& operator=(const PostgresDatabase&) = delete;

  boost::asio::awaitable<std::unique_ptr<mockdb::Connection>> connect() override;
  boost::asio::awaitable<mockdb::Id> create(std::string table, mockdb::Row row) override;
  boost::asio::awaitable<std::optional<mockdb::Row>> read(std::string table,
                                                          mockdb::Id id) override;
  boost::asio::awaitable<bool> update(std::string table, mockdb::Id id,
                                      mockdb::Row fields) override;
  boost::asio::awaitable<bool> remove(std::string table, mockdb::Id id) override;
  boost::asio::awaitable<mockdb::Rows> query(std::string sql, mockdb::Params params = {}) override;

  /// Inserts every row of `rows` into `table` (created if need be) on one borrowed
  /// connection, all or none (one transaction), and returns their ids in order. With
  /// Options::pipeline, the statements go out together in pipeline mode: one round trip.
  boost::asio::awaitable<std::vector<mockdb::Id>> create_many(std::string table, mockdb::Rows rows);

  /// How many statements have been sent in pipeline mode so far (tests check that it is used).
  std::uint64_t pipelined_statements() const noexcept;

  /// How many connections are open now (idle in the pool, borrowed, or the caller's own).
  std::size_t open_connections() const;

 private:
  std::shared_ptr<detail::Pool> pool_;
};

}  // namespace pgdb
