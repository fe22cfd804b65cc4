// The workbook's operations and queries as PostgreSQL SQL (see translate.hpp).
//
// A query's meaning is query.hpp's; the SQL below is built to give the same answers:
//  - A field is `doc -> $k` (the name bound as a parameter too). A missing field and a JSON
//    null both become SQL NULL, so three-valued logic comes from SQL itself.
//  - A comparison is made in the operand's type: numeric for numbers (exact, so 2 = 2.0 and
//    large integers are not rounded), text COLLATE "C" for strings (bytewise, whatever the
//    database's collation), boolean, or jsonb for arrays and objects. pg_temp.wb_typed()
//    (made on each connection, see pg_connection.cpp) turns a field of another type into an
//    error 42883 in every row the query reads.
//  - ORDER BY a field sorts by kind first (booleans < numbers < strings < arrays < objects,
//    the mock's order for mixed fields), then by value in that kind's type; NULL's place is
//    PostgreSQL's default or the query's NULLS FIRST/LAST; `, id` ends every ORDER BY, so ties
//    come in id order.
#include "translate.hpp"

#include <boost/json/serialize.hpp>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <variant>

namespace pgdb::detail {
namespace {

namespace json = boost::json;
using mockdb::CompareOp;

// Collects a statement's parameters and names each one ($1, $2, ...).
class Binder {
 public:
  std::string bind(std::optional<std::string> value) {
    params_.push_back(std::move(value));
    return "$" + std::to_string(params_.size());
  }

  // A field name, bound once however often the query names it.
  std::string field(const std::string& name) {
    auto [it, added] = fields_.try_emplace(name);
    if (added) it->second = bind(name);
    return it->second;
  }

  std::vector<std::optional<std::string>> take() { return std::move(params_); }

 private:
  std::vector<std::optional<std::string>> params_;
  std::map<std::string, std::string> fields_;
};

std::string id_text(mockdb::Id id) { return std::to_string(id); }

// A JSON number as PostgreSQL's numeric reads it. numeric has NaN (equal to itself, above
// every number: the rule query.hpp adopts) and, since PostgreSQL 14, infinities.
std::string numeric_text(const json::value& v) {
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  const double d = v.get_double();
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return json::serialize(v);  // shortest round-trip form, e.g. 2.5E0, which numeric accepts
}

const char* sql_operator(CompareOp op) {
  switch (op) {
    case CompareOp::eq:
      return " = ";
    case CompareOp::ne:
      return " <> ";
    case CompareOp::lt:
      return " < ";
    case CompareOp::le:
      return " <= ";
    case CompareOp::gt:
      return " > ";
    case CompareOp::ge:
      return " >= ";
    default:
      return " ";
  }
}

// The JSON type name jsonb_typeof() gives a value of this kind.
const char* json_type(const json::value& v) {
  if (v.is_bool()) return "boolean";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}

// The highest $n the query needs, to report a missing one before anything is sent.
std::size_t needed_parameters(const mockdb::Query& q) {
  std::size_t needed = q.parameter_count;
  for (const mockdb::Condition& c : q.where) {
    if (const auto* index = std::get_if<std::size_t>(&c.operand)) {
      needed = std::max(needed, *index + 1);
    }
  }
  for (const auto& count : {q.limit, q.offset}) {
    if (count && count->is_parameter) needed = std::max<std::size_t>(needed, count->value + 1);
  }
  return needed;
}

// One WHERE condition as SQL.
std::string condition_sql(const mockdb::Condition& c, const json::value& operand, Binder& b) {
  const bool is_id = c.column == "id";
  const bool null_test = c.op == CompareOp::is_null || c.op == CompareOp::is_not_null;
  // Any comparison with NULL is UNKNOWN, so the condition can never hold. The constant lets
  // the planner skip the scan, as the mock skips reading rows. (Returned before anything is
  // bound: PostgreSQL rejects a parameter that the statement does not use.)
  if (!null_test && operand.is_null()) return "NULL";
  // The field as jsonb: the id column is a bigint, made jsonb to share the typed path.
  const std::string value = is_id ? "to_jsonb(id)" : "(doc -> " + b.field(c.column) + ")";
  if (null_test) {
    // jsonb_typeof is 'null' for a JSON null and NULL for a missing field: both are NULL.
    return "COALESCE(jsonb_typeof(" + value + "), 'null')" +
           (c.op == CompareOp::is_null ? " = 'null'" : " <> 'null'");
  }
  const std::string op = sql_operator(c.op);
  // id against a whole number: a plain bigint comparison, which can use the primary key.
  if (is_id && (operand.is_int64() ||
                (operand.is_uint64() && operand.get_uint64() <= mockdb::kMaxRowCount))) {
    return "id" + op + b.bind(numeric_text(operand)) + "::bigint";
  }
  const bool ordered = c.op != CompareOp::eq && c.op != CompareOp::ne;
  const std::string typed = "pg_temp.wb_typed(" + value + ", '" + json_type(operand) + "', " +
                            (ordered ? "true" : "false") + ", " +
                            b.bind(is_id ? std::string("id") : c.column) + ", id)";
  if (operand.is_number())
    return typed + "::numeric" + op + b.bind(numeric_text(operand)) + "::numeric";
  if (operand.is_bool()) {
    return typed + "::boolean" + op + b.bind(operand.get_bool() ? "true" : "false") + "::boolean";
  }
  if (operand.is_string()) {
    const json::string& s = operand.get_string();
    return "(" + typed + " #>> '{}') COLLATE \"C\"" + op + b.bind(std::string(s.data(), s.size())) +
           "::text";
  }
  return typed + op + b.bind(json::serialize(operand)) + "::jsonb";
}

// One ORDER BY key as SQL (several sort expressions for a JSON field, see the top).
std::string sort_key_sql(const mockdb::SortKey& key, Binder& b) {
  const char* direction = key.descending ? " DESC" : " ASC";
  if (key.column == "id") return std::string("id") + direction;
  const std::string v = "(doc -> " + b.field(key.column) + ")";
  const std::string type = "jsonb_typeof(" + v + ")";
  std::string sql = "CASE " + type +
                    " WHEN 'boolean' THEN 1 WHEN 'number' THEN 2 WHEN 'string' THEN 3"
                    " WHEN 'array' THEN 4 WHEN 'object' THEN 5 END" +
                    direction + (key.nulls_first() ? " NULLS FIRST" : " NULLS LAST");
  sql += ", CASE " + type + " WHEN 'boolean' THEN " + v + "::boolean END" + direction;
  sql += ", CASE " + type + " WHEN 'number' THEN " + v + "::numeric END" + direction;
  sql +=
      ", (CASE " + type + " WHEN 'string' THEN " + v + " #>> '{}' END) COLLATE \"C\"" + direction;
  return sql;
}

// A LIMIT or OFFSET count: a literal, or a parameter that must hold a bigint from 0 up.
std::string row_count_sql(const mockdb::RowCount& count, const char* clause,
                          const mockdb::Params& params, Binder& b) {
  if (!count.is_parameter) return b.bind(std::to_string(count.value)) + "::bigint";
  const json::value& v = params[static_cast<std::size_t>(count.value)];
  std::optional<std::uint64_t> n;
  if (v.is_uint64() && v.get_uint64() <= mockdb::kMaxRowCount) n = v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) n = static_cast<std::uint64_t>(v.get_int64());
  // NULL would mean "no limit" to PostgreSQL, and is an error to SQLite: refused, as the mock
  // refuses it.
  if (!n) {
    throw client_error("22023", std::string(clause) + " $" + std::to_string(count.value + 1) +
                                    " must be an integer from 0 to " +
                                    std::to_string(mockdb::kMaxRowCount) + ", but it is " +
                                    json::serialize(v));
  }
  return b.bind(std::to_string(*n)) + "::bigint";
}

}  // namespace

std::string quote_identifier(std::string_view name) {
  std::string quoted = "\"";
  for (char c : name) {
    quoted += c;
    if (c == '"') quoted += '"';
  }
  return quoted + "\"";
}

Statement create_table(std::string_view table) {
  return {"CREATE TABLE IF NOT EXISTS " + quote_identifier(table) +
              " (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, doc jsonb NOT NULL)",
          {}};
}

Statement insert_row(std::string_view table, mockdb::Row row) {
  row.erase("id");
  return {"INSERT INTO " + quote_identifier(table) + " (doc) VALUES ($1::jsonb) RETURNING id",
          {json::serialize(row)}};
}

Statement select_row(std::string_view table, mockdb::Id id) {
  return {"SELECT doc FROM " + quote_identifier(table) + " WHERE id = $1::bigint", {id_text(id)}};
}

Statement update_row(std::string_view table, mockdb::Id id, mockdb::Row fields) {
  fields.erase("id");
  return {"UPDATE " + quote_identifier(table) + " SET doc = doc || $2::jsonb WHERE id = $1::bigint",
          {id_text(id), json::serialize(fields)}};
}

Statement delete_row(std::string_view table, mockdb::Id id) {
  return {"DELETE FROM " + quote_identifier(table) + " WHERE id = $1::bigint", {id_text(id)}};
}

Statement select_query(const mockdb::Query& q, const mockdb::Params& params) {
  const std::size_t needed = needed_parameters(q);
  if (needed > params.size()) {
    throw client_error("22023", "query uses $" + std::to_string(needed) + " but " +
                                    std::to_string(params.size()) + " parameter(s) were given");
  }
  Binder b;
  std::string sql = "SELECT id, doc FROM " + quote_identifier(q.table);
  for (std::size_t i = 0; i < q.where.size(); ++i) {
    const mockdb::Condition& c = q.where[i];
    const auto* index = std::get_if<std::size_t>(&c.operand);
    const json::value& operand = index ? params[*index] : std::get<json::value>(c.operand);
    sql += i == 0 ? " WHERE " : " AND ";
    sql += condition_sql(c, operand, b);
  }
  sql += " ORDER BY ";
  for (const mockdb::SortKey& key : q.order_by) sql += sort_key_sql(key, b) + ", ";
  sql += "id";
  if (q.limit) sql += " LIMIT " + row_count_sql(*q.limit, "LIMIT", params, b);
  if (q.offset) sql += " OFFSET " + row_count_sql(*q.offset, "OFFSET", params, b);
  return {std::move(sql), b.take()};
}

}  // namespace pgdb::detail
