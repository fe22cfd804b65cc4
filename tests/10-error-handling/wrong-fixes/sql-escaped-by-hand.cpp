// WRONG: the duplicate check builds its SQL text with the title quoted by hand, quotes doubled.
// expect: the title became part of the SQL text
//
// It works for every title of the test, quotes and all: this grammar has no other way
// out of a string literal. It is still the user's text parsed as SQL, safe only while
// every place that builds a query remembers to escape, and escapes right for its server.
#include <boost/asio/co_spawn.hpp>
#include <boost/json/value.hpp>
#include <boost/system/system_error.hpp>
#include <exception>
#include <string>
#include <utility>

#include "note_saver.hpp"

namespace asio = boost::asio;

namespace ch10 {

namespace {

// The title as an SQL string literal: every quote doubled, as SQL wants.
std::string sql_literal(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

asio::awaitable<void> save(mockdb::DatabaseService& db, Edit edit, SaveReporter& reporter) {
  std::string sql = "SELECT * FROM notes WHERE owner = " + std::to_string(edit.user) +
                    " AND title = " + sql_literal(edit.title);
  const mockdb::Rows same_title = co_await db.query(std::move(sql));
  for (const mockdb::Row& other : same_title) {
    if (other.at("id").as_int64() != edit.note) {
      reporter.refused(edit, Refusal::duplicate_title);
      co_return;
    }
  }
  mockdb::Row fields = note_fields(edit);
  const bool found = co_await db.update(kNotesTable, edit.note, std::move(fields));
  if (!found) {
    reporter.refused(edit, Refusal::no_such_note);
    co_return;
  }
  reporter.saved(edit);
}  // a database failure leaves save() as an exception, just as it came

// What a failure of this save must say it was doing.
std::string doing(const Edit& edit) {
  return "saving note " + std::to_string(edit.note) + " for user " + std::to_string(edit.user);
}

// save(), with what it was doing added to its failures: the same code, so a
// caller can still test it (is_transient, ErrorClass), and the database's own
// exception nested inside, for std::rethrow_if_nested.
asio::awaitable<void> save_in_context(mockdb::DatabaseService& db, Edit edit,
                                      SaveReporter& reporter) {
  try {
    co_await save(db, edit, reporter);
  } catch (const boost::system::system_error& failure) {
    std::throw_with_nested(boost::system::system_error(failure.code(), doing(edit)));
  }
}

}  // namespace

void start_save(const asio::any_io_executor& ex, mockdb::DatabaseService& db, Edit edit,
                SaveReporter& reporter) {
  auto report_failure = [edit, &reporter](const std::exception_ptr& failure) {
    if (failure) reporter.failed(edit, failure);  // to the caller, not into the void
  };
  asio::co_spawn(ex, save_in_context(db, std::move(edit), reporter), report_failure);
}

}  // namespace ch10
