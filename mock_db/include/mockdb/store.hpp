// The mock database's data: thread-safe in-memory tables of JSON rows, and the evaluator that
// runs a parsed Query against them. It counts the rows each query examines, so the cost of a
// query shape (OFFSET paging versus keyset paging, say) shows up as a number a test can check.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "mockdb/query.hpp"
#include "mockdb/row.hpp"

namespace mockdb {

/// Thread-safe in-memory tables of rows, each table keyed by its rows' ids.
///
/// A table comes into existence with its first insert and stays (possibly empty) from then on.
/// Rows go in and come out by value: the store never hands out references to its own rows.
class Store {
 public:
  /// The outcome of select().
  struct SelectResult {
    /// Copies of the matching rows, in result order, after OFFSET and LIMIT.
    Rows rows;
    /// How many rows the evaluator examined to produce them.
    std::uint64_t rows_scanned = 0;
  };

  /// Adds `row` to `table` (creating the table if needed) under the next id (1, 2, 3, ... per
  /// table), which is also written into the row's "id" field, overriding any given there.
  /// Table names and row keys are exact, never case-folded: a query reaches them through
  /// lower-case unquoted names, or quoted ones (see query.hpp).
  Id insert(const std::string& table, Row row);

  /// A copy of the row with this id, or nullopt if there is none (or no such table).
  std::optional<Row> find(const std::string& table, Id id) const;

  /// Merges `fields` into the row with this id, replacing fields it already has. An "id" in
  /// `fields` is ignored: a row's id never changes. Returns false if there is no such row.
  bool update(const std::string& table, Id id, const Row& fields);

  /// Removes the row with this id. Returns false if there is no such row.
  bool erase(const std::string& table, Id id);

  /// The number of rows in `table`; 0 for a table that does not exist.
  std::size_t size(const std::string& table) const;

  /// Runs `q` with `params` bound to its `$1`, `$2`, ... and returns copies of the rows.
  ///
  /// What a query means (NULL, types, ORDER BY, names) is documented in query.hpp. `q.table`
  /// is matched exactly against the names given to insert(): the parser has already folded an
  /// unquoted name to lower case, and names from the C++ API are never folded.
  ///
  /// Throws boost::system::system_error with Errc::no_such_table if the table was never
  /// written (naming a table that differs only in case, if there is one), or
  /// Errc::bad_parameter if a `$n` has no value, a LIMIT/OFFSET parameter is not an integer
  /// from 0 to kMaxRowCount, or a condition compares values of different types in a row
  /// it reads.
  ///
  /// Cost: a condition compared with NULL can never hold, so then no row is read. When the
  /// result is in id order (no ORDER BY, or ORDER BY id first), conditions on `id` narrow the
  /// scan to the id range they allow, and with a LIMIT the scan stops as soon as
  /// OFFSET + LIMIT rows matched. With ORDER BY another column, every row is examined.
  SelectResult select(const Query& q, const Params& params) const;

  /// The sum of rows_scanned over every select() so far.
  std::uint64_t total_rows_scanned() const noexcept;

 private:
  struct Table {
    std::map<Id, Row> rows;
    Id next_id = 1;
  };

  struct NamedTable {
    std::string name;
    Table table;
  };
  // The table named `name`, or null. Requires the lock.
  const Table* find_table(std::string_view name) const noexcept;
  Table* find_table(std::string_view name) noexcept;

  mutable std::shared_mutex mutex_;
  // Every operation finds its table by name. A workbook database has a handful
  // of tables, and comparing a few names costs less than hashing one (~20
  // instructions against ~85 a lookup, callgrind), so they are kept in a
  // vector and searched in order of creation.
  std::vector<NamedTable> tables_;
  mutable std::atomic<std::uint64_t> total_rows_scanned_{0};
};

}  // namespace mockdb
