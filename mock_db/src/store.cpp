// The in-memory tables and the query evaluator of the mock database. The evaluator follows SQL
// as PostgreSQL and SQLite agree on it (three-valued logic for NULL, NULLS FIRST/LAST, typed
// comparisons); query.hpp documents the rules and what remains different.
#include "mockdb/store.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/system/system_error.hpp>
#include <cmath>
#include <compare>
#include <limits>
#include <mutex>
#include <utility>
#include <vector>

#include "mockdb/errors.hpp"

namespace mockdb {
namespace {

namespace json = boost::json;

[[noreturn]] void throw_error(Errc e, std::string message) {
  throw_database_error(e, std::move(message));
}

// --- Comparing values ------------------------------------------------------------------------

// The kinds that compare with each other; the three JSON number kinds are one kind here. The
// order of the enumerators is the order of kinds in ORDER BY.
enum class Kind { null, boolean, number, string, array, object };

Kind kind_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return Kind::null;
    case json::kind::bool_:
      return Kind::boolean;
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return Kind::number;
    case json::kind::string:
      return Kind::string;
    case json::kind::array:
      return Kind::array;
    case json::kind::object:
      return Kind::object;
  }
  return Kind::null;
}

constexpr double two_pow_63 = 9223372036854775808.0;
constexpr double two_pow_64 = 18446744073709551616.0;

// Exact comparisons of an integer with a double: converting the integer to double would round
// large ids, so compare integral parts as integers and let the fraction break a tie.
std::partial_ordering compare_int_double(std::int64_t i, double d) {
  if (std::isnan(d)) return std::partial_ordering::unordered;
  if (d >= two_pow_63) return std::partial_ordering::less;
  if (d < -two_pow_63) return std::partial_ordering::greater;
  const double whole = std::trunc(d);
  const auto w = static_cast<std::int64_t>(whole);
  if (i != w) return i <=> w;
  return 0.0 <=> (d - whole);
}

std::partial_ordering compare_uint_double(std::uint64_t u, double d) {
  if (std::isnan(d)) return std::partial_ordering::unordered;
  if (d >= two_pow_64) return std::partial_ordering::less;
  if (d < 0) return std::partial_ordering::greater;
  const double whole = std::trunc(d);
  const auto w = static_cast<std::uint64_t>(whole);
  if (u != w) return u <=> w;
  return 0.0 <=> (d - whole);
}

std::partial_ordering compare_int_uint(std::int64_t i, std::uint64_t u) {
  if (i < 0) return std::partial_ordering::less;
  return static_cast<std::uint64_t>(i) <=> u;
}

std::partial_ordering compare_numbers(const json::value& a, const json::value& b) {
  switch (a.kind()) {
    case json::kind::int64:
      if (b.is_int64()) return a.get_int64() <=> b.get_int64();
      if (b.is_uint64()) return compare_int_uint(a.get_int64(), b.get_uint64());
      return compare_int_double(a.get_int64(), b.get_double());
    case json::kind::uint64:
      if (b.is_uint64()) return a.get_uint64() <=> b.get_uint64();
      if (b.is_int64()) return 0 <=> compare_int_uint(b.get_int64(), a.get_uint64());
      return compare_uint_double(a.get_uint64(), b.get_double());
    default:
      if (b.is_double()) return a.get_double() <=> b.get_double();
      if (b.is_int64()) return 0 <=> compare_int_double(b.get_int64(), a.get_double());
      return 0 <=> compare_uint_double(b.get_uint64(), a.get_double());
  }
}

bool is_nan(const json::value& v) { return v.is_double() && std::isnan(v.get_double()); }

// Values of the same orderable kind (boolean, number, string), totally ordered. NaN follows
// PostgreSQL: equal to itself and greater than every other number, so that comparing and
// sorting agree.
std::weak_ordering compare_same_kind(const json::value& a, const json::value& b) {
  switch (kind_of(a)) {
    case Kind::boolean:
      return a.get_bool() <=> b.get_bool();
    case Kind::number: {
      const bool a_nan = is_nan(a);
      const bool b_nan = is_nan(b);
      if (a_nan || b_nan) return a_nan <=> b_nan;
      const std::partial_ordering order = compare_numbers(a, b);
      if (order < 0) return std::weak_ordering::less;
      if (order > 0) return std::weak_ordering::greater;
      return std::weak_ordering::equivalent;
    }
    case Kind::string: {
      const std::string_view sa(a.get_string().data(), a.get_string().size());
      const std::string_view sb(b.get_string().data(), b.get_string().size());
      return sa <=> sb;
    }
    default:
      return std::weak_ordering::equivalent;
  }
}

// SQL's three-valued logic: a comparison with NULL is neither true nor false.
enum class Truth { false_, true_, unknown };

// --- Describing values and conditions in messages -------------------------------------------

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::null:
      return "NULL";
    case Kind::boolean:
      return "a boolean";
    case Kind::number:
      return "a number";
    case Kind::string:
      return "a string";
    case Kind::array:
      return "an array";
    case Kind::object:
      return "an object";
  }
  return "a value";
}

// A value as a query would spell it: 'text' (quotes doubled), TRUE, NULL, 2.5; arrays and
// objects, which SQL has no literal for, as JSON.
std::string sql_literal(const json::value& v) {
  if (v.is_string()) {
    std::string text = "'";
    for (char c : v.get_string()) {
      text += c;
      if (c == '\'') text += '\'';
    }
    return text + "'";
  }
  if (v.is_bool()) return v.get_bool() ? "TRUE" : "FALSE";
  if (v.is_null()) return "NULL";
  return json::serialize(v);
}

// A column as a query would name it: bare if folding would give it back, quoted otherwise.
std::string sql_name(std::string_view name) {
  const bool plain = !name.empty() && !(name[0] >= '0' && name[0] <= '9') &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                     });
  if (plain) return std::string(name);
  std::string quoted = "\"";
  for (char c : name) {
    quoted += c;
    if (c == '"') quoted += '"';
  }
  return quoted + "\"";
}

const char* operator_text(CompareOp op) {
  switch (op) {
    case CompareOp::eq:
      return "=";
    case CompareOp::ne:
      return "!=";
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
  return "?";
}

std::string condition_text(const Condition& c) {
  std::string text = sql_name(c.column) + " " + operator_text(c.op);
  if (c.op == CompareOp::is_null || c.op == CompareOp::is_not_null) return text;
  if (const std::size_t* index = std::get_if<std::size_t>(&c.operand)) {
    return text + " $" + std::to_string(*index + 1);
  }
  return text + " " + sql_literal(std::get<json::value>(c.operand));
}

const json::value& null_value() {
  static const json::value null;
  return null;
}

const json::value& column_of(const Row& row, std::string_view column) {
  const json::value* v = row.if_contains(column);
  return v ? *v : null_value();
}

// --- Binding parameters ----------------------------------------------------------------------

// A WHERE condition with its operand resolved: the literal, or the parameter's value.
struct ResolvedCondition {
  const Condition* condition;
  const json::value* operand;
};

// Comparisons other than IS [NOT] NULL.
bool is_comparison(CompareOp op) {
  return op != CompareOp::is_null && op != CompareOp::is_not_null;
}

std::string parameter_count_text(std::size_t n) {
  if (n == 0) return "no parameters were given";
  if (n == 1) return "only 1 parameter was given";
  return "only " + std::to_string(n) + " parameters were given";
}

void check_parameter_count(const Query& q, const Params& params) {
  // Checked up front, before any row is examined, and against the highest $n anywhere in the
  // query, so the message names the real requirement rather than the first gap found.
  std::size_t needed = q.parameter_count;
  for (const Condition& c : q.where) {
    if (const std::size_t* index = std::get_if<std::size_t>(&c.operand)) {
      needed = std::max(needed, *index + 1);
    }
  }
  for (const std::optional<RowCount>& count : {q.limit, q.offset}) {
    if (count && count->is_parameter) needed = std::max<std::uint64_t>(needed, count->value + 1);
  }
  if (needed > params.size()) {
    throw_error(Errc::bad_parameter, "query uses $" + std::to_string(needed) + " but " +
                                         parameter_count_text(params.size()));
  }
}

// The value of a LIMIT or OFFSET. A parameter must hold a bigint from 0 up, as both databases
// require; NULL (PostgreSQL's "no limit") is refused since SQLite rejects it.
std::optional<std::uint64_t> resolve_row_count(const std::optional<RowCount>& count,
                                               const char* clause, const Params& params) {
  if (!count) return std::nullopt;
  if (!count->is_parameter) return count->value;
  const json::value& v = params[static_cast<std::size_t>(count->value)];
  if (v.is_uint64() && v.get_uint64() <= kMaxRowCount) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
  throw_error(Errc::bad_parameter, std::string(clause) + " $" + std::to_string(count->value + 1) +
                                       " must be an integer from 0 to " +
                                       std::to_string(kMaxRowCount) + ", but it is " +
                                       json::serialize(v) + ": pass a whole number of rows");
}

// --- The id range a query can match ------------------------------------------------------------

constexpr Id min_id = std::numeric_limits<Id>::min();
constexpr Id max_id = std::numeric_limits<Id>::max();

// The smallest id satisfying `id > v` (or `id >= v` if inclusive); nullopt if no id does.
std::optional<Id> smallest_id_above(const json::value& v, bool inclusive) {
  if (v.is_int64()) {
    const Id i = v.get_int64();
    if (inclusive) return i;
    if (i == max_id) return std::nullopt;
    return i + 1;
  }
  if (v.is_uint64()) {
    const std::uint64_t u = v.get_uint64();
    if (u > static_cast<std::uint64_t>(max_id)) return std::nullopt;
    return smallest_id_above(json::value(static_cast<Id>(u)), inclusive);
  }
  const double d = v.get_double();
  if (std::isnan(d)) return std::nullopt;  // NaN is greater than every number
  const double bound = inclusive ? std::ceil(d) : std::floor(d) + 1;
  if (bound >= two_pow_63) return std::nullopt;
  if (bound < -two_pow_63) return min_id;
  return static_cast<Id>(bound);
}

// The largest id satisfying `id < v` (or `id <= v` if inclusive); nullopt if no id does.
std::optional<Id> largest_id_below(const json::value& v, bool inclusive) {
  if (v.is_int64()) {
    const Id i = v.get_int64();
    if (inclusive) return i;
    if (i == min_id) return std::nullopt;
    return i - 1;
  }
  if (v.is_uint64()) {
    const std::uint64_t u = v.get_uint64();
    if (u > static_cast<std::uint64_t>(max_id)) return max_id;
    return largest_id_below(json::value(static_cast<Id>(u)), inclusive);
  }
  const double d = v.get_double();
  if (std::isnan(d)) return max_id;  // NaN is greater than every number
  const double bound = inclusive ? std::floor(d) : std::ceil(d) - 1;
  if (bound < -two_pow_63) return std::nullopt;
  if (bound >= two_pow_63) return max_id;
  return static_cast<Id>(bound);
}

// The ids [first, last] that the conditions on `id` allow, like an index range scan; nullopt
// when they allow none. Non-numeric operands are left to the row-by-row check.
struct IdRange {
  Id first = min_id;
  Id last = max_id;
};

std::optional<IdRange> id_range(const std::vector<ResolvedCondition>& conditions) {
  IdRange range;
  for (const ResolvedCondition& c : conditions) {
    if (c.condition->column != "id" || !c.operand->is_number()) continue;
    std::optional<Id> low;
    std::optional<Id> high;
    bool has_low = false;
    bool has_high = false;
    const CompareOp op = c.condition->op;
    switch (op) {
      case CompareOp::eq:
        low = smallest_id_above(*c.operand, true);
        high = largest_id_below(*c.operand, true);
        has_low = has_high = true;
        break;
      case CompareOp::gt:
      case CompareOp::ge:
        low = smallest_id_above(*c.operand, op == CompareOp::ge);
        has_low = true;
        break;
      case CompareOp::lt:
      case CompareOp::le:
        high = largest_id_below(*c.operand, op == CompareOp::le);
        has_high = true;
        break;
      case CompareOp::ne:
      case CompareOp::is_null:
      case CompareOp::is_not_null:
        break;
    }
    if ((has_low && !low) || (has_high && !high)) return std::nullopt;
    if (low) range.first = std::max(range.first, *low);
    if (high) range.last = std::min(range.last, *high);
  }
  if (range.first > range.last) return std::nullopt;
  return range;
}

// --- Evaluating conditions ----------------------------------------------------------------------

[[noreturn]] void throw_type_mismatch(const ResolvedCondition& c, const json::value& value,
                                      const std::string& table, const Row& row) {
  const std::string column = sql_name(c.condition->column);
  const char* value_kind = kind_name(kind_of(value));
  const char* operand_kind = kind_name(kind_of(*c.operand));
  throw_error(Errc::type_mismatch,
              "WHERE " + condition_text(*c.condition) + " compares " + value_kind + " with " +
                  operand_kind + " (row " + json::serialize(row.at("id")) + " of table '" + table +
                  "' has " + column + " = " + sql_literal(value) +
                  "); PostgreSQL rejects comparisons between types and SQLite converts one "
                  "side, so the mock refuses them: compare " +
                  column + " with " + value_kind + ", or store " + column + " as " + operand_kind);
}

[[noreturn]] void throw_unordered(const ResolvedCondition& c, const json::value& value) {
  const char* kind = kind_name(kind_of(value));
  throw_error(Errc::bad_parameter, "WHERE " + condition_text(*c.condition) + " orders " + kind +
                                       ", which has no order: compare it only with = or !=");
}

// The truth of one condition for one row. Comparing values of different types is an error
// (see query.hpp); NULL, of every type, makes any comparison UNKNOWN.
Truth evaluate(const ResolvedCondition& c, const std::string& table, const Row& row) {
  const json::value& value = column_of(row, c.condition->column);
  const CompareOp op = c.condition->op;
  if (op == CompareOp::is_null) return value.is_null() ? Truth::true_ : Truth::false_;
  if (op == CompareOp::is_not_null) return value.is_null() ? Truth::false_ : Truth::true_;
  if (value.is_null() || c.operand->is_null()) return Truth::unknown;
  const Kind kind = kind_of(value);
  if (kind != kind_of(*c.operand)) throw_type_mismatch(c, value, table, row);
  auto truth = [](bool b) { return b ? Truth::true_ : Truth::false_; };
  if (kind == Kind::array || kind == Kind::object) {
    if (op == CompareOp::eq) return truth(value == *c.operand);
    if (op == CompareOp::ne) return truth(value != *c.operand);
    throw_unordered(c, value);
  }
  const std::weak_ordering order = compare_same_kind(value, *c.operand);
  switch (op) {
    case CompareOp::eq:
      return truth(order == 0);
    case CompareOp::ne:
      return truth(order != 0);
    case CompareOp::lt:
      return truth(order < 0);
    case CompareOp::le:
      return truth(order <= 0);
    case CompareOp::gt:
      return truth(order > 0);
    case CompareOp::ge:
      return truth(order >= 0);
    case CompareOp::is_null:
    case CompareOp::is_not_null:
      break;
  }
  return Truth::unknown;
}

// WHERE keeps a row when the AND of its conditions is TRUE. Kleene's AND: FALSE if any is
// FALSE, else UNKNOWN if any is UNKNOWN. Every condition is evaluated, none skipped, so a type
// error shows whatever order the conditions are written in.
bool matches(const Row& row, const std::vector<ResolvedCondition>& conditions,
             const std::string& table) {
  Truth all = Truth::true_;
  for (const ResolvedCondition& c : conditions) {
    const Truth t = evaluate(c, table, row);
    if (t == Truth::false_) {
      all = Truth::false_;
    } else if (t == Truth::unknown && all == Truth::true_) {
      all = Truth::unknown;
    }
  }
  return all == Truth::true_;
}

// --- Sorting -------------------------------------------------------------------------------------

// The order of non-null values of any kinds, for ORDER BY: by kind (booleans, numbers, strings,
// arrays, objects), then by value; arrays and objects tie with their own kind.
std::weak_ordering sort_order(const json::value& a, const json::value& b) {
  const Kind ka = kind_of(a);
  const Kind kb = kind_of(b);
  if (ka != kb) return ka <=> kb;
  return compare_same_kind(a, b);
}

// True if `a` goes before `b` under `keys`; each of `a` and `b` holds one value per key.
bool sorts_before(const std::vector<SortKey>& keys, const json::value* const* a,
                  const json::value* const* b) {
  for (std::size_t k = 0; k < keys.size(); ++k) {
    const bool a_null = a[k]->is_null();
    const bool b_null = b[k]->is_null();
    if (a_null && b_null) continue;
    if (a_null || b_null) return a_null == keys[k].nulls_first();
    const std::weak_ordering order = sort_order(*a[k], *b[k]);
    if (order == 0) continue;
    return keys[k].descending ? order > 0 : order < 0;
  }
  return false;
}

// The message for a table that does not exist, naming a table whose name differs only in
// case: the likely cause is an unquoted name folded to lower case.
template <typename Tables>
std::string no_such_table_message(const Tables& tables, const std::string& name) {
  auto same_ignoring_case = [&name](const std::string& other) {
    return other.size() == name.size() &&
           std::equal(other.begin(), other.end(), name.begin(), [](char x, char y) {
             auto lower = [](char c) {
               return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
             };
             return lower(x) == lower(y);
           });
  };
  std::string message = "no such table '" + name + "'";
  for (const auto& [other, table] : tables) {
    if (same_ignoring_case(other)) {
      message += " (unquoted names are folded to lower case); there is a table '";
      message += other;
      message += "': write ";
      message += sql_name(other);
      message += " in the query, or name the table in lower case";
      return message;
    }
  }
  message += ": a table exists once a row has been created in it; check the name";
  return message;
}

}  // namespace

const Store::Table* Store::find_table(std::string_view name) const noexcept {
  for (const NamedTable& t : tables_) {
    if (t.name == name) return &t.table;
  }
  return nullptr;
}

Store::Table* Store::find_table(std::string_view name) noexcept {
  for (NamedTable& t : tables_) {
    if (t.name == name) return &t.table;
  }
  return nullptr;
}

Id Store::insert(const std::string& table, Row row) {
  // Re-home the row in the default memory resource: a row built on a caller's short-lived
  // resource (a monotonic buffer, say) must not leave the store pointing into it.
  Row stored(std::move(row), json::storage_ptr());
  std::unique_lock lock(mutex_);
  Table* found = find_table(table);
  Table& t = found != nullptr ? *found : tables_.emplace_back(NamedTable{table, {}}).table;
  const Id id = t.next_id++;
  stored["id"] = id;
  t.rows.emplace(id, std::move(stored));
  return id;
}

std::optional<Row> Store::find(const std::string& table, Id id) const {
  std::shared_lock lock(mutex_);
  const Table* t = find_table(table);
  if (t == nullptr) return std::nullopt;
  auto r = t->rows.find(id);
  if (r == t->rows.end()) return std::nullopt;
  return r->second;
}

bool Store::update(const std::string& table, Id id, const Row& fields) {
  std::unique_lock lock(mutex_);
  Table* t = find_table(table);
  if (t == nullptr) return false;
  auto r = t->rows.find(id);
  if (r == t->rows.end()) return false;
  for (const auto& field : fields) {
    if (field.key() == "id") continue;
    r->second.insert_or_assign(field.key(), field.value());
  }
  return true;
}

bool Store::erase(const std::string& table, Id id) {
  std::unique_lock lock(mutex_);
  Table* t = find_table(table);
  return t != nullptr && t->rows.erase(id) > 0;
}

std::size_t Store::size(const std::string& table) const {
  std::shared_lock lock(mutex_);
  const Table* t = find_table(table);
  return t == nullptr ? 0 : t->rows.size();
}

Store::SelectResult Store::select(const Query& q, const Params& params) const {
  // Bind everything before taking the lock: a bad call fails without touching the data.
  check_parameter_count(q, params);
  std::vector<ResolvedCondition> conditions;
  conditions.reserve(q.where.size());
  // A comparison with NULL is never TRUE, so neither is the AND: no row can match.
  bool never_true = false;
  for (const Condition& c : q.where) {
    const json::value* operand = nullptr;
    if (const std::size_t* index = std::get_if<std::size_t>(&c.operand)) {
      operand = &params[*index];
    } else {
      operand = &std::get<json::value>(c.operand);
    }
    if (is_comparison(c.op) && operand->is_null()) never_true = true;
    conditions.push_back({&c, operand});
  }
  const std::optional<std::uint64_t> limit = resolve_row_count(q.limit, "LIMIT", params);
  const std::uint64_t offset = resolve_row_count(q.offset, "OFFSET", params).value_or(0);

  SelectResult result;
  {
    std::shared_lock lock(mutex_);
    const Table* t = find_table(q.table);
    if (t == nullptr) throw_error(Errc::no_such_table, no_such_table_message(tables_, q.table));
    const std::map<Id, Row>& rows = t->rows;

    if (never_true) {
      // Like a real planner's constant-false filter: nothing is read.
    } else if (q.order_by.empty() || q.order_by.front().column == "id") {
      // Id order is the map's own order, so the scan can start and stop where the id
      // conditions and LIMIT say, the way a database walks a primary-key index. Ids are unique,
      // so keys after the id cannot change the order.
      const bool descending = !q.order_by.empty() && q.order_by.front().descending;
      // Both are at most kMaxRowCount (2^63 - 1), so the sum cannot overflow.
      const std::uint64_t wanted =
          limit ? offset + *limit : std::numeric_limits<std::uint64_t>::max();
      const std::optional<IdRange> range = id_range(conditions);
      std::uint64_t matched = 0;
      // Examines one row; returns false once enough rows have matched.
      auto visit = [&](const Row& row) {
        ++result.rows_scanned;
        if (!matches(row, conditions, q.table)) return true;
        if (++matched > offset) result.rows.push_back(row);
        return matched < wanted;
      };
      if (range && wanted > 0) {
        if (!descending) {
          for (auto it = rows.lower_bound(range->first);
               it != rows.end() && it->first <= range->last && visit(it->second); ++it) {
          }
        } else {
          for (auto it = std::make_reverse_iterator(rows.upper_bound(range->last));
               it != rows.rend() && it->first >= range->first && visit(it->second); ++it) {
          }
        }
      }
    } else {
      // Sorting by another column needs every matching row first: the whole table is read.
      // Each match's sort values sit in `values`, keys.size() per row, looked up once.
      const std::size_t key_count = q.order_by.size();
      std::vector<const Row*> matched_rows;
      std::vector<const json::value*> values;
      for (const auto& [id, row] : rows) {
        ++result.rows_scanned;
        if (!matches(row, conditions, q.table)) continue;
        matched_rows.push_back(&row);
        for (const SortKey& key : q.order_by) values.push_back(&column_of(row, key.column));
      }
      std::vector<std::size_t> order(matched_rows.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      // The rows arrive in id order and the sort is stable, so ties stay in id order.
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return sorts_before(q.order_by, &values[a * key_count], &values[b * key_count]);
      });
      const std::size_t begin =
          static_cast<std::size_t>(std::min<std::uint64_t>(offset, order.size()));
      std::size_t end = order.size();
      if (limit) end = static_cast<std::size_t>(std::min<std::uint64_t>(begin + *limit, end));
      result.rows.reserve(end - begin);
      for (std::size_t i = begin; i < end; ++i) result.rows.push_back(*matched_rows[order[i]]);
    }
  }
  total_rows_scanned_.fetch_add(result.rows_scanned, std::memory_order_relaxed);
  return result;
}

std::uint64_t Store::total_rows_scanned() const noexcept {
  return total_rows_scanned_.load(std::memory_order_relaxed);
}

}  // namespace mockdb
