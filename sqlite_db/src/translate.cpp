// The workbook's query subset, translated into SQLite SQL over the `doc` column.
//
// A table holds (id INTEGER PRIMARY KEY, doc TEXT) with doc a JSON object, so a
// column `price` of the query is the JSON field $."price" of doc. SQLite's
// json_extract() alone would blur the types query.hpp keeps apart: it returns
// JSON true and false as the integers 1 and 0, so `flag = 1` would match a
// boolean. So every comparison first asks json_type() what the field holds and
// compares only a field of the operand's type; a field of another type calls
// sqlitedb_type_error(), a function registered on each connection that fails
// the statement with SQLITE_MISMATCH (ErrorClass::invalid_parameter), as the
// mock and PostgreSQL refuse such a comparison.
//
// The operand's type is known here, before the statement is prepared (a literal
// or a parameter's value), so the SQL is written for it, and the operand is
// bound, never pasted into the text.
#include "translate.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <limits>

#include "errors.hpp"

namespace sqlitedb::detail {
namespace {

namespace json = boost::json;
using mockdb::CompareOp;
using mockdb::Condition;
using mockdb::Errc;

// Collects the bound values while the SQL text is written.
class Builder {
 public:
  // Binds `value` and returns its placeholder, "?N".
  std::string bind(Bound value) {
    values_.push_back(std::move(value));
    return "?" + std::to_string(values_.size());
  }
  std::vector<Bound> take() { return std::move(values_); }

 private:
  std::vector<Bound> values_;
};

[[noreturn]] void bad_parameter(std::string message) {
  std::rethrow_exception(client_error(Errc::bad_parameter, std::move(message)));
}

// A JSON number as SQLite holds it. An integer above INT64_MAX (a uint64 in
// Boost.JSON) has no SQLite integer type: it becomes a double and is rounded,
// where the mock compares it exactly.
Bound number(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    const std::uint64_t u = v.get_uint64();
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return static_cast<std::int64_t>(u);
    }
    return static_cast<double>(u);
  }
  return v.get_double();  // NaN binds as NULL in SQLite: the comparison is UNKNOWN
}

const char* operator_sql(CompareOp op) {
  switch (op) {
    case CompareOp::eq:
      return "=";
    case CompareOp::ne:
      return "<>";
    case CompareOp::lt:
      return "<";
    case CompareOp::le:
      return "<=";
    case CompareOp::gt:
      return ">";
    case CompareOp::ge:
      return ">=";
    case CompareOp::is_null:
      return "IS NULL";
    case CompareOp::is_not_null:
      return "IS NOT NULL";
  }
  return "=";
}

const char* kind_name(const json::value& v) {
  if (v.is_bool()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "NULL";
}

// The condition as the learner wrote it, for messages.
std::string condition_text(const Condition& c) {
  std::string text = c.column + " " + operator_sql(c.op);
  if (c.op == CompareOp::is_null || c.op == CompareOp::is_not_null) return text;
  if (const std::size_t* index = std::get_if<std::size_t>(&c.operand)) {
    return text + " $" + std::to_string(*index + 1);
  }
  return text + " " + json::serialize(std::get<json::value>(c.operand));
}

// `function(arguments)`.
std::string call(std::string_view function, const std::string& arguments) {
  std::string sql(function);
  sql += '(';
  sql += arguments;
  sql += ')';
  return sql;
}

bool is_comparison(CompareOp op) {
  return op != CompareOp::is_null && op != CompareOp::is_not_null;
}

// A condition on the id column, which is an INTEGER and never NULL.
std::string id_condition(const Condition& c, const json::value& operand, Builder& b) {
  if (c.op == CompareOp::is_null) return "0";
  if (c.op == CompareOp::is_not_null) return "1";
  if (operand.is_number()) {
    return std::string("(id ") + operator_sql(c.op) + " " + b.bind(number(operand)) + ")";
  }
  // Every row read has a number there: each one is an error, as in the mock.
  const std::string message = "WHERE " + condition_text(c) + " compares the id (a number) with " +
                              kind_name(operand) + " in row ";
  return call(kTypeErrorFunction, b.bind(message) + " || id");
}

// A comparison of a JSON field with a non-null operand: 1, 0, NULL (the field
// is null or missing) or an error (the field holds another type).
std::string field_comparison(const Condition& c, const json::value& operand,
                             const std::string& type, const std::string& value, Builder& b) {
  std::string kinds;  // the json_type() values of the operand's type
  std::string lhs;    // the field, as an SQL value comparable with the operand
  std::string rhs;    // the bound operand
  if (operand.is_number()) {
    kinds = "'integer', 'real'";
    lhs = value;
    rhs = b.bind(number(operand));
  } else if (operand.is_string()) {
    kinds = "'text'";
    lhs = value;  // json_extract() returns a JSON string as TEXT; BINARY collation is bytewise
    rhs = b.bind(std::string(operand.get_string()));
  } else if (operand.is_bool()) {
    // Booleans compare as booleans, FALSE < TRUE, never with the numbers 0 and 1.
    kinds = "'true', 'false'";
    lhs = "(" + type + " = 'true')";
    rhs = b.bind(std::int64_t{operand.get_bool() ? 1 : 0});
  } else {
    // Arrays and objects: equal when SQLite's minified JSON texts are.
    kinds = operand.is_array() ? "'array'" : "'object'";
    lhs = "json(" + value + ")";
    rhs = "json(" + b.bind(json::serialize(operand)) + ")";
  }
  std::string same_type = lhs + " " + operator_sql(c.op) + " " + rhs;
  if (!operand.is_primitive() && c.op != CompareOp::eq && c.op != CompareOp::ne) {
    same_type = call(kTypeErrorFunction,
                     b.bind("WHERE " + condition_text(c) + " orders " + kind_name(operand) +
                            ", which has no order: compare it only with = or !="));
  }
  const std::string mismatch =
      call(kTypeErrorFunction, b.bind("WHERE " + condition_text(c) + " compares " +
                                      kind_name(operand) + " with a field of JSON type ") +
                                   " || " + type + " || ' in row ' || id || " +
                                   b.bind("; SQLite would convert one side and PostgreSQL "
                                          "refuses, so this backend refuses too: compare " +
                                          c.column + " with a value of its own type"));
  return "(CASE WHEN " + type + " IS NULL OR " + type + " = 'null' THEN NULL WHEN " + type +
         " IN (" + kinds + ") THEN " + same_type + " ELSE " + mismatch + " END)";
}

// The JSON path of field `column`, bound as a parameter.
std::string path_of(const std::string& column, Builder& b) {
  if (column.find('"') != std::string::npos) {
    bad_parameter("column " + column +
                  " contains a double quote, which SQLite's JSON paths cannot address");
  }
  return b.bind("$.\"" + column + "\"");
}

std::string field_condition(const Condition& c, const json::value& operand, Builder& b) {
  const std::string path = path_of(c.column, b);
  const std::string type = "json_type(doc, " + path + ")";
  const std::string value = "json_extract(doc, " + path + ")";
  if (c.op == CompareOp::is_null) return "(" + type + " IS NULL OR " + type + " = 'null')";
  if (c.op == CompareOp::is_not_null)
    return "(" + type + " IS NOT NULL AND " + type + " <> 'null')";
  return field_comparison(c, operand, type, value, b);
}

std::string parameter_count_text(std::size_t n) {
  if (n == 0) return "no parameters were given";
  if (n == 1) return "only 1 parameter was given";
  return "only " + std::to_string(n) + " parameters were given";
}

// Every `$n` must have a value, checked before anything runs.
void check_parameter_count(const mockdb::Query& q, const mockdb::Params& params) {
  std::size_t needed = q.parameter_count;
  for (const Condition& c : q.where) {
    if (const std::size_t* index = std::get_if<std::size_t>(&c.operand)) {
      needed = std::max(needed, *index + 1);
    }
  }
  for (const auto& count : {q.limit, q.offset}) {
    if (count && count->is_parameter) needed = std::max<std::size_t>(needed, count->value + 1);
  }
  if (needed > params.size()) {
    bad_parameter("query uses $" + std::to_string(needed) + " but " +
                  parameter_count_text(params.size()));
  }
}

// A LIMIT or OFFSET count: a literal, or a parameter holding 0 to INT64_MAX.
std::int64_t row_count(const mockdb::RowCount& count, const char* clause,
                       const mockdb::Params& params) {
  if (!count.is_parameter) return static_cast<std::int64_t>(count.value);
  const json::value& v = params[count.value];
  if (v.is_uint64() && v.get_uint64() <= mockdb::kMaxRowCount) {
    return static_cast<std::int64_t>(v.get_uint64());
  }
  if (v.is_int64() && v.get_int64() >= 0) return v.get_int64();
  bad_parameter(std::string(clause) + " $" + std::to_string(count.value + 1) +
                " must be an integer from 0 to " + std::to_string(mockdb::kMaxRowCount) +
                ", but it is " + json::serialize(v) + ": pass a whole number of rows");
}

// The literal, or the value of the parameter, a condition compares with.
const json::value& operand_of(const Condition& c, const mockdb::Params& params) {
  if (const std::size_t* index = std::get_if<std::size_t>(&c.operand)) return params[*index];
  return std::get<json::value>(c.operand);
}

std::string where_clause(const mockdb::Query& q, const mockdb::Params& params, Builder& b) {
  if (q.where.empty()) return "";
  // A comparison with NULL is never TRUE, so neither is the AND: the query
  // reads no row (the table must still exist), as a planner folds it away.
  for (const Condition& c : q.where) {
    if (is_comparison(c.op) && operand_of(c, params).is_null()) return " WHERE 0";
  }
  std::vector<std::string> conditions;
  std::string id_range;  // plain `id < ?` terms, so SQLite scans only that range of rowids
  for (const Condition& c : q.where) {
    const json::value& operand = operand_of(c, params);
    if (c.column == "id") {
      conditions.push_back(id_condition(c, operand, b));
      if (operand.is_number() && c.op != CompareOp::ne && is_comparison(c.op)) {
        id_range += conditions.back() + " AND ";
      }
    } else {
      conditions.push_back(field_condition(c, operand, b));
    }
  }
  // SQL's AND may skip its right side once the left is false, and so would hide
  // a type error in a row the mock reports. A function's arguments are always
  // all evaluated, so the conditions go to sqlitedb_all(), Kleene's AND.
  std::string arguments;
  for (const std::string& condition : conditions) {
    if (!arguments.empty()) arguments += ", ";
    arguments += condition;
  }
  return " WHERE " + id_range + call(kAllFunction, arguments);
}

std::string order_by_clause(const mockdb::Query& q, Builder& b) {
  std::string sql = " ORDER BY ";
  for (const mockdb::SortKey& key : q.order_by) {
    const char* direction = key.descending ? " DESC" : " ASC";
    if (key.column == "id") {
      sql += std::string("id") + direction + ", ";
      continue;
    }
    // SQLite's default puts NULL first for ASC, PostgreSQL's last: say it.
    const std::string nulls = key.nulls_first() ? " NULLS FIRST" : " NULLS LAST";
    const std::string path = path_of(key.column, b);
    const std::string type = "json_type(doc, " + path + ")";
    // First by type (booleans < numbers < strings < arrays < objects, as the
    // mock sorts a field of mixed types; NULL for a null or missing field),
    // then by value; booleans as 0 and 1, arrays and objects all tie.
    sql += "(CASE ";
    sql += type;
    sql +=
        " WHEN 'true' THEN 0 WHEN 'false' THEN 0 WHEN 'integer' THEN 1 WHEN 'real' THEN 1"
        " WHEN 'text' THEN 2 WHEN 'array' THEN 3 WHEN 'object' THEN 4 END)";
    sql += direction;
    sql += nulls;
    sql += ", (CASE ";
    sql += type;
    sql +=
        " WHEN 'true' THEN 1 WHEN 'false' THEN 0 WHEN 'array' THEN NULL WHEN 'object' THEN"
        " NULL ELSE json_extract(doc, ";
    sql += path;
    sql += ") END)";
    sql += direction;
    sql += nulls;
    sql += ", ";
  }
  // Ties, and a query without ORDER BY, come in id order.
  return sql + "id";
}

std::string limit_clause(const mockdb::Query& q, const mockdb::Params& params, Builder& b) {
  std::string sql;
  if (q.limit) {
    sql += " LIMIT " + b.bind(row_count(*q.limit, "LIMIT", params));
  } else if (q.offset) {
    sql += " LIMIT -1";  // SQLite has no OFFSET without LIMIT; -1 means no limit
  }
  if (q.offset) sql += " OFFSET " + b.bind(row_count(*q.offset, "OFFSET", params));
  return sql;
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

Statement translate(const mockdb::Query& query, const mockdb::Params& params) {
  check_parameter_count(query, params);
  Builder b;
  std::string sql = "SELECT id, doc FROM " + quote_identifier(query.table);
  sql += where_clause(query, params, b);
  sql += order_by_clause(query, b);
  sql += limit_clause(query, params, b);
  return {std::move(sql), b.take()};
}

}  // namespace sqlitedb::detail
