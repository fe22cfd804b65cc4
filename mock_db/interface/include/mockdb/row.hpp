// The data model of the mock database: a row is a JSON object, and every row
// of a table has an integer primary key stored in its "id" field.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <vector>

namespace mockdb {

/// One row: a JSON object. The database sets its "id" field on create.
using Row = boost::json::object;

/// The rows a query returns, in result order.
using Rows = std::vector<Row>;

/// A row's primary key, assigned by the database on create (1, 2, 3, ...).
using Id = std::int64_t;

/// The values bound to a query's `$1`, `$2`, ... placeholders, in order.
using Params = std::vector<boost::json::value>;

}  // namespace mockdb
