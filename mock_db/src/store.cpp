// The in-memory tables and the query evaluator of the mock database.
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

[[noreturn]] void throw_error(Errc e, const std::string& message) {
  throw boost::system::system_error(make_error_code(e), message);
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

// Values of the same orderable kind (boolean, number, string).
std::partial_ordering compare_same_kind(const json::value& a, const json::value& b) {
  switch (kind_of(a)) {
    case Kind::boolean:
      return a.get_bool() <=> b.get_bool();
    case Kind::number:
      return compare_numbers(a, b);
    case Kind::string: {
      const std::string_view sa(a.get_string().data(), a.get_string().size());
      const std::string_view sb(b.get_string().data(), b.get_string().size());
      return sa <=> sb;
    }
    default:
      return std::partial_ordering::unordered;
  }
}

bool condition_holds(const json::value& lhs, CompareOp op, const json::value& rhs) {
  const Kind kind = kind_of(lhs);
  if (kind != kind_of(rhs)) return op == CompareOp::ne;
  if (kind == Kind::null || kind == Kind::array || kind == Kind::object) {
    // No order among these: only (in)equality means something.
    if (op == CompareOp::eq) return lhs == rhs;
    if (op == CompareOp::ne) return lhs != rhs;
    return false;
  }
  // With a NaN the ordering is unordered: every operator but != is false, as in IEEE 754.
  const std::partial_ordering order = compare_same_kind(lhs, rhs);
  switch (op) {
    case CompareOp::eq:
      return order == 0;
    case CompareOp::ne:
      return order != 0;
    case CompareOp::lt:
      return order < 0;
    case CompareOp::le:
      return order <= 0;
    case CompareOp::gt:
      return order > 0;
    case CompareOp::ge:
      return order >= 0;
  }
  return false;
}

// A strict weak order over all values for ORDER BY: by kind first (null smallest), then by
// value; NaN sorts after every other number, and arrays and objects tie with their own kind.
bool sorts_before(const json::value& a, const json::value& b) {
  const Kind ka = kind_of(a);
  const Kind kb = kind_of(b);
  if (ka != kb) return ka < kb;
  if (ka == Kind::number) {
    const bool a_nan = a.is_double() && std::isnan(a.get_double());
    const bool b_nan = b.is_double() && std::isnan(b.get_double());
    if (a_nan || b_nan) return !a_nan;
  }
  return compare_same_kind(a, b) < 0;
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

struct BoundCondition {
  std::string_view column;
  CompareOp op;
  const json::value* operand;
};

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
  for (const std::optional<Bound>& b : {q.limit, q.offset}) {
    if (b && b->is_parameter) needed = std::max<std::uint64_t>(needed, b->value + 1);
  }
  if (needed > params.size()) {
    throw_error(Errc::bad_parameter, "query uses $" + std::to_string(needed) + " but " +
                                         parameter_count_text(params.size()));
  }
}

std::optional<std::uint64_t> resolve_bound(const std::optional<Bound>& b, const char* clause,
                                           const Params& params) {
  if (!b) return std::nullopt;
  if (!b->is_parameter) return b->value;
  const json::value& v = params[static_cast<std::size_t>(b->value)];
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
  throw_error(Errc::bad_parameter, std::string(clause) + " $" + std::to_string(b->value + 1) +
                                       " must be a non-negative integer, but it is " +
                                       json::serialize(v));
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
  if (std::isnan(d)) return std::nullopt;
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
  if (std::isnan(d)) return std::nullopt;
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

std::optional<IdRange> id_range(const std::vector<BoundCondition>& conditions) {
  IdRange range;
  for (const BoundCondition& c : conditions) {
    if (c.column != "id" || !c.operand->is_number()) continue;
    std::optional<Id> low;
    std::optional<Id> high;
    bool has_low = false;
    bool has_high = false;
    switch (c.op) {
      case CompareOp::eq:
        low = smallest_id_above(*c.operand, true);
        high = largest_id_below(*c.operand, true);
        has_low = has_high = true;
        break;
      case CompareOp::gt:
      case CompareOp::ge:
        low = smallest_id_above(*c.operand, c.op == CompareOp::ge);
        has_low = true;
        break;
      case CompareOp::lt:
      case CompareOp::le:
        high = largest_id_below(*c.operand, c.op == CompareOp::le);
        has_high = true;
        break;
      case CompareOp::ne:
        break;
    }
    if ((has_low && !low) || (has_high && !high)) return std::nullopt;
    if (low) range.first = std::max(range.first, *low);
    if (high) range.last = std::min(range.last, *high);
  }
  if (range.first > range.last) return std::nullopt;
  return range;
}

bool all_hold(const Row& row, const std::vector<BoundCondition>& conditions) {
  for (const BoundCondition& c : conditions) {
    if (!condition_holds(column_of(row, c.column), c.op, *c.operand)) return false;
  }
  return true;
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  return b > max - a ? max : a + b;
}

}  // namespace

Id Store::insert(const std::string& table, Row row) {
  // Re-home the row in the default memory resource: a row built on a caller's short-lived
  // resource (a monotonic buffer, say) must not leave the store pointing into it.
  Row stored(std::move(row), json::storage_ptr());
  std::unique_lock lock(mutex_);
  Table& t = tables_[table];
  const Id id = t.next_id++;
  stored["id"] = id;
  t.rows.emplace(id, std::move(stored));
  return id;
}

std::optional<Row> Store::find(const std::string& table, Id id) const {
  std::shared_lock lock(mutex_);
  auto t = tables_.find(table);
  if (t == tables_.end()) return std::nullopt;
  auto r = t->second.rows.find(id);
  if (r == t->second.rows.end()) return std::nullopt;
  return r->second;
}

bool Store::update(const std::string& table, Id id, const Row& fields) {
  std::unique_lock lock(mutex_);
  auto t = tables_.find(table);
  if (t == tables_.end()) return false;
  auto r = t->second.rows.find(id);
  if (r == t->second.rows.end()) return false;
  for (const auto& field : fields) {
    if (field.key() == "id") continue;
    r->second.insert_or_assign(field.key(), field.value());
  }
  return true;
}

bool Store::erase(const std::string& table, Id id) {
  std::unique_lock lock(mutex_);
  auto t = tables_.find(table);
  if (t == tables_.end()) return false;
  return t->second.rows.erase(id) > 0;
}

std::size_t Store::size(const std::string& table) const {
  std::shared_lock lock(mutex_);
  auto t = tables_.find(table);
  return t == tables_.end() ? 0 : t->second.rows.size();
}

Store::SelectResult Store::select(const Query& q, const Params& params) const {
  // Bind everything before taking the lock: a bad call fails without touching the data.
  check_parameter_count(q, params);
  std::vector<BoundCondition> conditions;
  conditions.reserve(q.where.size());
  for (const Condition& c : q.where) {
    const json::value* operand = nullptr;
    if (const std::size_t* index = std::get_if<std::size_t>(&c.operand)) {
      operand = &params[*index];
    } else {
      operand = &std::get<json::value>(c.operand);
    }
    conditions.push_back({c.column, c.op, operand});
  }
  const std::optional<std::uint64_t> limit = resolve_bound(q.limit, "LIMIT", params);
  const std::uint64_t offset = resolve_bound(q.offset, "OFFSET", params).value_or(0);

  SelectResult result;
  {
    std::shared_lock lock(mutex_);
    auto t = tables_.find(q.table);
    if (t == tables_.end()) throw_error(Errc::no_such_table, "no such table '" + q.table + "'");
    const std::map<Id, Row>& rows = t->second.rows;

    if (!q.order_by || *q.order_by == "id") {
      // Id order is the map's own order, so the scan can start and stop where the id
      // conditions and LIMIT say, the way a database walks a primary-key index.
      const std::uint64_t wanted =
          limit ? saturating_add(offset, *limit) : std::numeric_limits<std::uint64_t>::max();
      const std::optional<IdRange> range = id_range(conditions);
      std::uint64_t matched = 0;
      // Examines one row; returns false once enough rows have matched.
      auto visit = [&](const Row& row) {
        ++result.rows_scanned;
        if (!all_hold(row, conditions)) return true;
        if (++matched > offset) result.rows.push_back(row);
        return matched < wanted;
      };
      if (range && wanted > 0) {
        if (!q.descending) {
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
      std::vector<std::pair<const json::value*, const Row*>> matches;
      for (const auto& [id, row] : rows) {
        ++result.rows_scanned;
        if (all_hold(row, conditions)) matches.emplace_back(&column_of(row, *q.order_by), &row);
      }
      // The rows arrive in id order and the sort is stable, so ties stay in id order.
      std::stable_sort(matches.begin(), matches.end(), [&](const auto& a, const auto& b) {
        return q.descending ? sorts_before(*b.first, *a.first) : sorts_before(*a.first, *b.first);
      });
      const std::size_t begin =
          static_cast<std::size_t>(std::min<std::uint64_t>(offset, matches.size()));
      std::size_t end = matches.size();
      if (limit) {
        end = static_cast<std::size_t>(std::min<std::uint64_t>(saturating_add(begin, *limit), end));
      }
      result.rows.reserve(end - begin);
      for (std::size_t i = begin; i < end; ++i) result.rows.push_back(*matches[i].second);
    }
  }
  total_rows_scanned_.fetch_add(result.rows_scanned, std::memory_order_relaxed);
  return result;
}

std::uint64_t Store::total_rows_scanned() const noexcept {
  return total_rows_scanned_.load(std::memory_order_relaxed);
}

}  // namespace mockdb
