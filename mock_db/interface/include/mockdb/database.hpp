// The database interface every chapter programs against.
//
// DatabaseService is the C++ counterpart of an async trait: an abstract class
// whose virtual functions are coroutines returning boost::asio::awaitable<T>.
// Code written against it runs unchanged on the in-memory MockDatabase and on
// real backends. Failures are thrown as mockdb::DatabaseError (a
// boost::system::system_error) whose code compares equal to a
// mockdb::ErrorClass (see errors.hpp); a query that cannot be parsed throws
// mockdb::QueryError, which is one of those.
//
// Arguments are taken by value: a coroutine may run long after its caller's
// temporaries are gone, so it must own what it reads.
//
// The rules of a connection (the same as libpq's and SQLite's, which the
// real backends use, and as Boost.MySQL documents for its connections):
//
//  - One operation at a time. A connection is a conversation: a second
//    operation started while one is in progress fails at once with
//    Errc::operation_in_progress (ErrorClass::misuse), as libpq refuses
//    "another command is already in progress". It does not wait: waiting
//    would hide a bug that a real driver reports, and queueing work is the
//    caller's job (a pool, a strand, one coroutine per connection).
//  - A failure of the connection itself (ErrorClass::connection_failure) or a
//    cancellation in the middle of an operation breaks it: nobody knows where
//    the conversation stands, or whether the server went on with the
//    statement. Every later operation fails with Errc::connection_closed.
//    Close it and open a new one. Other failures (a syntax error, a missing
//    table, a bad parameter, permission denied) leave it usable.
//  - close() ends it; operations after that fail with Errc::connection_closed.
//    Destroying a connection closes it too. Either way its place under the
//    database's connection limit is free again.
//
// DatabaseService is a pool of connections. Its own operations (create, read,
// ...) each borrow a connection for as long as they run, so they count
// against the connection limit; when none is free they fail with
// Errc::too_many_connections rather than queue (bounding how many run at once
// is the caller's job). A borrowed connection that breaks is discarded, so a
// direct operation never meets a broken connection.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>

#include "mockdb/row.hpp"

namespace mockdb {

/// The operations that can be run on a database: by a connection, one at a
/// time, or by the database itself, each on a connection it borrows.
class Queryable {
 public:
  virtual ~Queryable() = default;

  /// Inserts `row` into `table` (created on first use) and returns its new id.
  virtual boost::asio::awaitable<Id> create(std::string table, Row row) = 0;

  /// The row of `table` with primary key `id`, or std::nullopt if there is none.
  virtual boost::asio::awaitable<std::optional<Row>> read(std::string table, Id id) = 0;

  /// Merges `fields` into row `id` of `table`. Returns false if there is no such row.
  virtual boost::asio::awaitable<bool> update(std::string table, Id id, Row fields) = 0;

  /// Deletes row `id` of `table`. Returns false if there was no such row.
  virtual boost::asio::awaitable<bool> remove(std::string table, Id id) = 0;

  /// Runs a SELECT (see query.hpp for the grammar) with `params` bound to
  /// `$1`, `$2`, ... and returns the matching rows.
  virtual boost::asio::awaitable<Rows> query(std::string sql, Params params = {}) = 0;
};

/// An open connection, with the rules above. Operations on it do not borrow
/// connections of their own.
class Connection : public Queryable {
 public:
  /// Ends the connection (see the rules above). Closing twice is harmless.
  virtual boost::asio::awaitable<void> close() = 0;
};

/// A database: a pool of connections. Operations called on it directly each
/// borrow a connection for as long as they run (see the rules above).
class DatabaseService : public Queryable {
 public:
  /// Opens a connection of the caller's own (this takes the connect latency).
  virtual boost::asio::awaitable<std::unique_ptr<Connection>> connect() = 0;
};

}  // namespace mockdb
