// The parser of the mock database's query language: a hand-written lexer and recursive-descent
// parser whose errors name the position, what was expected and what was found. What the
// language means (and where it differs from PostgreSQL and SQLite) is in query.hpp.
#include "mockdb/query.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>
#include <utility>

namespace mockdb {
namespace {

std::string format_message(std::size_t position, const std::string& expected,
                           const std::string& found) {
  std::string message = "syntax error at position " + std::to_string(position) + ": expected " +
                        expected + ", found ";
  message += found.empty() ? std::string("end of input") : "'" + found + "'";
  return message;
}

// Postgres caps a statement at 65535 parameters; the same cap keeps `$n` indices small and
// turns absurd numbers into a clear error instead of an overflow.
constexpr std::uint64_t max_parameter = 65535;

// Words that cannot name a table or column unless quoted; all but BY are reserved in
// PostgreSQL too. NULLS, FIRST and LAST are keywords only after an ORDER BY column and stay
// usable as names, as in PostgreSQL ("first" and "last" make likely column names).
constexpr std::array<std::string_view, 15> reserved_words = {
    "SELECT", "FROM",   "WHERE", "AND",   "ORDER", "BY", "ASC", "DESC",
    "LIMIT",  "OFFSET", "TRUE",  "FALSE", "NULL",  "IS", "NOT"};

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

char to_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// ASCII-only on purpose: keywords are ASCII, and locale-dependent case folding would make the
// same query parse differently on different machines.
bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (to_upper(a[i]) != to_upper(b[i])) return false;
  }
  return true;
}

bool is_reserved(std::string_view word) {
  for (std::string_view r : reserved_words) {
    if (equals_ignore_case(word, r)) return true;
  }
  return false;
}

enum class TokenKind { word, quoted_name, number, string, parameter, symbol, end, invalid };

struct Token {
  TokenKind kind = TokenKind::end;
  std::size_t position = 0;
  std::string_view text;      // exactly as written, quotes and all
  boost::json::value value;   // the value of a number or string literal
  std::string name;           // the name inside a "quoted identifier", "" unescaped
  std::size_t parameter = 0;  // the 0-based index of a `$n`
};

// Lexes on demand, one token ahead of the parser, so the leftmost error is always the one
// reported, whether it is a lexical one (an unterminated string) or a syntactic one.
class Parser {
 public:
  explicit Parser(std::string_view sql) : sql_(sql) { advance(); }

  Query parse() {
    Query q;
    expect_keyword("SELECT");
    if (!is_symbol("*")) fail("'*'");
    advance();
    expect_keyword("FROM");
    q.table = expect_identifier("a table name");

    // What may still follow besides ';' and the end; it shrinks as clauses go by, so trailing
    // garbage is reported with exactly the alternatives that were still possible.
    std::vector<std::string_view> next = {"WHERE", "ORDER BY", "LIMIT", "OFFSET"};
    if (accept_keyword("WHERE")) {
      do {
        q.where.push_back(parse_condition(q));
      } while (accept_keyword("AND"));
      next = {"AND", "ORDER BY", "LIMIT", "OFFSET"};
    }
    if (accept_keyword("ORDER")) {
      expect_keyword("BY");
      do {
        q.order_by.push_back(parse_sort_key(next));
      } while (accept_symbol(","));
    }
    if (accept_keyword("LIMIT")) {
      q.limit = parse_row_count(q);
      next = {"OFFSET"};
    }
    if (accept_keyword("OFFSET")) {
      q.offset = parse_row_count(q);
      next = {};
    }
    bool semicolon = false;
    if (is_symbol(";")) {
      advance();
      semicolon = true;
    }
    if (current_.kind != TokenKind::end) {
      std::string expected;
      if (!semicolon) {
        for (std::string_view alternative : next) {
          expected += alternative;
          expected += ", ";
        }
        expected += "';' or ";
      }
      expected += "end of input";
      fail(expected);
    }
    return q;
  }

 private:
  [[noreturn]] void fail(std::string expected) const {
    throw QueryError(current_.position, std::move(expected), std::string(current_.text));
  }

  [[noreturn]] void fail_at(std::size_t position, std::string expected,
                            std::string_view found) const {
    throw QueryError(position, std::move(expected), std::string(found));
  }

  bool is_keyword(std::string_view keyword) const {
    return current_.kind == TokenKind::word && equals_ignore_case(current_.text, keyword);
  }

  bool is_symbol(std::string_view symbol) const {
    return current_.kind == TokenKind::symbol && current_.text == symbol;
  }

  bool accept_keyword(std::string_view keyword) {
    if (!is_keyword(keyword)) return false;
    advance();
    return true;
  }

  bool accept_symbol(std::string_view symbol) {
    if (!is_symbol(symbol)) return false;
    advance();
    return true;
  }

  void expect_keyword(std::string_view keyword) {
    if (!accept_keyword(keyword)) fail(std::string(keyword));
  }

  // A table or column name. Unquoted names are folded to lower case, as PostgreSQL folds them,
  // so `Notes` and `notes` are one table; a quoted name is kept exactly as written.
  std::string expect_identifier(std::string_view what) {
    std::string name;
    if (current_.kind == TokenKind::quoted_name) {
      name = std::move(current_.name);
    } else if (current_.kind == TokenKind::word && !is_reserved(current_.text)) {
      name.reserve(current_.text.size());
      for (char c : current_.text) name += to_lower(c);
    } else {
      fail(std::string(what));
    }
    advance();
    return name;
  }

  void note_parameter(Query& q, std::size_t index) {
    q.parameter_count = std::max(q.parameter_count, index + 1);
  }

  Condition parse_condition(Query& q) {
    Condition c;
    c.column = expect_identifier("a column name");
    if (accept_keyword("IS")) {
      // IS [NOT] NULL is the only test that can be TRUE for a NULL: `= NULL` never is.
      const bool negated = accept_keyword("NOT");
      if (!accept_keyword("NULL")) fail(negated ? "NULL" : "NULL or NOT NULL");
      c.op = negated ? CompareOp::is_not_null : CompareOp::is_null;
      c.operand = boost::json::value(nullptr);
      return c;
    }
    c.op = parse_operator();
    switch (current_.kind) {
      case TokenKind::parameter:
        c.operand = current_.parameter;
        note_parameter(q, current_.parameter);
        break;
      case TokenKind::number:
      case TokenKind::string:
        c.operand = current_.value;
        break;
      default:
        if (is_keyword("TRUE")) {
          c.operand = boost::json::value(true);
        } else if (is_keyword("FALSE")) {
          c.operand = boost::json::value(false);
        } else if (is_keyword("NULL")) {
          c.operand = boost::json::value(nullptr);
        } else {
          fail("a parameter or a literal (number, 'string', TRUE, FALSE or NULL)");
        }
    }
    advance();
    return c;
  }

  CompareOp parse_operator() {
    static constexpr std::array<std::pair<std::string_view, CompareOp>, 7> ops = {{
        {"=", CompareOp::eq},
        {"!=", CompareOp::ne},
        {"<>", CompareOp::ne},
        {"<", CompareOp::lt},
        {"<=", CompareOp::le},
        {">", CompareOp::gt},
        {">=", CompareOp::ge},
    }};
    if (current_.kind == TokenKind::symbol) {
      for (const auto& [text, op] : ops) {
        if (current_.text == text) {
          advance();
          return op;
        }
      }
    }
    fail("a comparison operator (=, !=, <>, <, <=, >, >=) or IS");
  }

  // One ORDER BY key; `next` becomes what may follow it, for the trailing-garbage message.
  SortKey parse_sort_key(std::vector<std::string_view>& next) {
    SortKey key;
    key.column = expect_identifier("a column name");
    next = {"ASC", "DESC", "NULLS", "','", "LIMIT", "OFFSET"};
    if (accept_keyword("DESC")) {
      key.descending = true;
      next = {"NULLS", "','", "LIMIT", "OFFSET"};
    } else if (accept_keyword("ASC")) {
      next = {"NULLS", "','", "LIMIT", "OFFSET"};
    }
    if (accept_keyword("NULLS")) {
      if (accept_keyword("FIRST")) {
        key.nulls = NullsOrder::first;
      } else if (accept_keyword("LAST")) {
        key.nulls = NullsOrder::last;
      } else {
        fail("FIRST or LAST");
      }
      next = {"','", "LIMIT", "OFFSET"};
    }
    return key;
  }

  // A LIMIT or OFFSET count. Both databases take a bigint here, so neither a negative count
  // (SQLite would read LIMIT -1 as "no limit", PostgreSQL rejects it) nor one above the bigint
  // range is accepted.
  RowCount parse_row_count(Query& q) {
    RowCount count;
    if (current_.kind == TokenKind::parameter) {
      count.is_parameter = true;
      count.value = current_.parameter;
      note_parameter(q, current_.parameter);
    } else if (current_.kind == TokenKind::number && current_.value.is_int64() &&
               current_.value.get_int64() >= 0) {
      count.value = static_cast<std::uint64_t>(current_.value.get_int64());
    } else {
      fail("a row count from 0 to " + std::to_string(kMaxRowCount) + " or a parameter");
    }
    advance();
    return count;
  }

  void advance() { current_ = lex(); }

  Token lex() {
    while (pos_ < sql_.size() && is_space(sql_[pos_])) ++pos_;
    Token t;
    t.position = pos_;
    if (pos_ >= sql_.size()) {
      t.kind = TokenKind::end;
      return t;
    }
    const std::size_t start = pos_;
    const char c = sql_[pos_];
    if (is_ident_start(c)) {
      while (pos_ < sql_.size() && is_ident_char(sql_[pos_])) ++pos_;
      t.kind = TokenKind::word;
    } else if (starts_number(pos_)) {
      lex_number(t);
      return t;
    } else if (c == '\'') {
      lex_string(t);
      return t;
    } else if (c == '"') {
      lex_quoted_name(t);
      return t;
    } else if (c == '$') {
      lex_parameter(t);
      return t;
    } else if ((c == '<' || c == '>' || c == '!') && pos_ + 1 < sql_.size() &&
               (sql_[pos_ + 1] == '=' || (c == '<' && sql_[pos_ + 1] == '>'))) {
      pos_ += 2;
      t.kind = TokenKind::symbol;
    } else if (c == '*' || c == ';' || c == ',' || c == '=' || c == '<' || c == '>') {
      ++pos_;
      t.kind = TokenKind::symbol;
    } else {
      // Anything else is left to the parser to reject, so the message says what was expected
      // here. A multi-byte UTF-8 character is kept whole so the message shows it intact.
      ++pos_;
      while (pos_ < sql_.size() && (static_cast<unsigned char>(sql_[pos_]) & 0xC0) == 0x80) {
        ++pos_;
      }
      t.kind = TokenKind::invalid;
    }
    t.text = sql_.substr(start, pos_ - start);
    return t;
  }

  bool digit_at(std::size_t i) const { return i < sql_.size() && is_digit(sql_[i]); }

  // 7, 2.5, 3., .5 and 1e3, each possibly after a '-' that touches it: the forms both
  // databases read as numbers.
  bool starts_number(std::size_t i) const {
    if (i < sql_.size() && sql_[i] == '-') ++i;
    return digit_at(i) || (i < sql_.size() && sql_[i] == '.' && digit_at(i + 1));
  }

  void lex_number(Token& t) {
    const std::size_t start = pos_;
    if (sql_[pos_] == '-') ++pos_;
    while (digit_at(pos_)) ++pos_;
    bool decimal = false;
    bool well_formed = true;
    if (pos_ < sql_.size() && sql_[pos_] == '.') {
      decimal = true;
      ++pos_;
      while (digit_at(pos_)) ++pos_;
    }
    if (pos_ < sql_.size() && (sql_[pos_] == 'e' || sql_[pos_] == 'E')) {
      decimal = true;
      ++pos_;
      if (pos_ < sql_.size() && (sql_[pos_] == '+' || sql_[pos_] == '-')) ++pos_;
      if (!digit_at(pos_)) well_formed = false;
      while (digit_at(pos_)) ++pos_;
    }
    // `12abc`, `1.2.3` and `1e` are one bad number, not a number followed by something else:
    // swallow the whole run so the message quotes all of it.
    if (pos_ < sql_.size() && (is_ident_char(sql_[pos_]) || sql_[pos_] == '.')) {
      well_formed = false;
    }
    if (!well_formed) {
      while (pos_ < sql_.size() && (is_ident_char(sql_[pos_]) || sql_[pos_] == '.')) ++pos_;
      fail_at(start, "a number", sql_.substr(start, pos_ - start));
    }
    t.kind = TokenKind::number;
    t.text = sql_.substr(start, pos_ - start);
    const char* first = t.text.data();
    const char* last = first + t.text.size();
    if (decimal) {
      double d = 0;
      auto [ptr, ec] = std::from_chars(first, last, d);
      if (ec != std::errc() || ptr != last || !std::isfinite(d)) {
        fail_at(start, "a number within the range of a double", t.text);
      }
      t.value = d;
      return;
    }
    std::int64_t i = 0;
    auto [ptr, ec] = std::from_chars(first, last, i);
    if (ec == std::errc() && ptr == last) {
      t.value = i;
      return;
    }
    // Too big for int64: JSON (and so a row) can still hold it as uint64.
    std::uint64_t u = 0;
    auto [uptr, uec] = std::from_chars(first, last, u);
    if (t.text[0] != '-' && uec == std::errc() && uptr == last) {
      t.value = u;
      return;
    }
    fail_at(start, "an integer between -9223372036854775808 and 18446744073709551615", t.text);
  }

  void lex_string(Token& t) {
    const std::size_t start = pos_;
    ++pos_;  // the opening quote
    std::string value;
    for (;;) {
      if (pos_ >= sql_.size()) {
        fail_at(pos_, "a closing ' for the string starting at position " + std::to_string(start),
                "");
      }
      const char c = sql_[pos_++];
      if (c == '\'') {
        if (pos_ < sql_.size() && sql_[pos_] == '\'') {
          value += '\'';  // '' stands for one quote inside the string
          ++pos_;
          continue;
        }
        break;
      }
      value += c;
    }
    t.kind = TokenKind::string;
    t.text = sql_.substr(start, pos_ - start);
    t.value = boost::json::string(value);
  }

  void lex_quoted_name(Token& t) {
    const std::size_t start = pos_;
    ++pos_;  // the opening quote
    std::string name;
    for (;;) {
      if (pos_ >= sql_.size()) {
        fail_at(pos_, "a closing \" for the name starting at position " + std::to_string(start),
                "");
      }
      const char c = sql_[pos_++];
      if (c == '"') {
        if (pos_ < sql_.size() && sql_[pos_] == '"') {
          name += '"';  // "" stands for one quote inside the name
          ++pos_;
          continue;
        }
        break;
      }
      name += c;
    }
    t.text = sql_.substr(start, pos_ - start);
    if (name.empty()) {
      // PostgreSQL's rule too ("zero-length delimited identifier").
      fail_at(start, "a name of at least one character between the double quotes", t.text);
    }
    t.kind = TokenKind::quoted_name;
    t.name = std::move(name);
  }

  void lex_parameter(Token& t) {
    const std::size_t start = pos_;
    ++pos_;  // the '$'
    const std::size_t digits = pos_;
    while (pos_ < sql_.size() && is_digit(sql_[pos_])) ++pos_;
    std::uint64_t n = 0;
    const std::errc ec = std::from_chars(sql_.data() + digits, sql_.data() + pos_, n).ec;
    const bool glued = pos_ < sql_.size() && is_ident_char(sql_[pos_]);  // like `$1a`
    if (pos_ == digits || ec != std::errc() || n == 0 || n > max_parameter || glued) {
      while (pos_ < sql_.size() && is_ident_char(sql_[pos_])) ++pos_;
      fail_at(start, "a parameter from $1 to $" + std::to_string(max_parameter),
              sql_.substr(start, pos_ - start));
    }
    t.kind = TokenKind::parameter;
    t.text = sql_.substr(start, pos_ - start);
    t.parameter = static_cast<std::size_t>(n - 1);
  }

  std::string_view sql_;
  std::size_t pos_ = 0;
  Token current_;
};

}  // namespace

QueryError::QueryError(std::size_t position, std::string expected, std::string found)
    : DatabaseError(make_error_code(Errc::query_syntax),
                    Diagnostics{format_message(position, expected, found),
                                sqlstate(Errc::query_syntax), position}),
      position_(position),
      expected_(std::move(expected)),
      found_(std::move(found)),
      message_(format_message(position_, expected_, found_)) {}

const char* QueryError::what() const noexcept { return message_.c_str(); }

std::size_t QueryError::position() const noexcept { return position_; }

const std::string& QueryError::expected() const noexcept { return expected_; }

const std::string& QueryError::found() const noexcept { return found_; }

Query parse_query(std::string_view sql) { return Parser(sql).parse(); }

}  // namespace mockdb
