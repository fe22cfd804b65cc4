// The database interface every chapter programs against.
//
// DatabaseService is the C++ counterpart of an async trait: an abstract class
// whose virtual functions are coroutines returning boost::asio::awaitable<T>.
// Code written against it runs unchanged on the in-memory MockDatabase and on
// real backends. Failures are thrown as boost::system::system_error with a code
// in the mockdb category (see errors.hpp); a query that cannot be parsed throws
// mockdb::QueryError, which is one of those.
//
// Arguments are taken by value: a coroutine may run long after its caller's
// temporaries are gone, so it must own what it reads.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>

#include "mockdb/row.hpp"

namespace mockdb {

/// The operations available on any handle to a database.
class Session {
 public:
  virtual ~Session() = default;

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

/// An open connection. Operations on it do not open connections of their own;
/// destroying it closes it and frees its place under the connection limit.
class Connection : public Session {};

/// A database. Operations called on it directly each use a connection of their
/// own for as long as they run, so they count against the connection limit.
class DatabaseService : public Session {
 public:
  /// Opens a connection (this takes the connect latency).
  virtual boost::asio::awaitable<std::unique_ptr<Connection>> connect() = 0;
};

}  // namespace mockdb
