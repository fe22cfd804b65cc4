// The workbook's data model in PostgreSQL's SQL: one statement per operation, with every
// value a bound parameter. Pure functions, no I/O: the part of the backend that tests of the
// SQL text can run without a server.
#pragma once

#include <string>
#include <string_view>

#include "mockdb/query.hpp"
#include "mockdb/row.hpp"
#include "pg_connection.hpp"

namespace pgdb::detail {

/// `name` as a quoted identifier: "name", with any '"' doubled. Table names are exact, as the
/// workbook's API promises (no folding).
std::string quote_identifier(std::string_view name);

/// CREATE TABLE IF NOT EXISTS for a workbook table: id bigint identity (1, 2, 3, ...), doc jsonb.
Statement create_table(std::string_view table);

/// INSERT of `row` (its "id" key left out: the database assigns ids) RETURNING id.
Statement insert_row(std::string_view table, mockdb::Row row);

/// SELECT doc of row `id`.
Statement select_row(std::string_view table, mockdb::Id id);

/// Merges `fields` into row `id`'s doc (jsonb ||: top-level keys replace, null stays null).
Statement update_row(std::string_view table, mockdb::Id id, mockdb::Row fields);

/// DELETE of row `id`.
Statement delete_row(std::string_view table, mockdb::Id id);

/// The SELECT for a parsed workbook query with its parameters bound: result columns id, doc.
/// Throws DatabaseError 22023 (invalid_parameter) for a missing $n or a bad LIMIT/OFFSET
/// parameter, before anything is sent, as the mock does.
Statement select_query(const mockdb::Query& query, const mockdb::Params& params);

}  // namespace pgdb::detail
