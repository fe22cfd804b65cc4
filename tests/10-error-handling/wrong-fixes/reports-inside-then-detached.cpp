// WRONG: the coroutine reports the database failures it catches; detached drops everything else.
// expect: not a database error, and the reporter heard nothing
//
// Every database failure is reported, once and with context. A failure of another kind
// (a bug's std::logic_error, a std::bad_alloc) passes the catch and reaches detached,
// whose handler ignores it: that save is never reported.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/value.hpp>
#include <boost/system/system_error.hpp>
#include <exception>
#include <string>
#include <utility>

#include "note_saver.hpp"

namespace asio = boost::asio;

namespace ch10 {

namespace {

// The user's notes with this exact title. The title is a parameter, never part
// of the SQL text: whatever the user typed stays data.
constexpr const char* kSameTitle = "SELECT * FROM notes WHERE owner = $1 AND title = $2";

asio::awaitable<void> save(mockdb::DatabaseService& db, Edit edit, SaveReporter& reporter) {
  mockdb::Params params{boost::json::value(edit.user), boost::json::value(edit.title)};
  const mockdb::Rows same_title = co_await db.query(kSameTitle, std::move(params));
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
  std::exception_ptr failure;
  try {
    try {
      co_await save(db, edit, reporter);
    } catch (const boost::system::system_error& e) {
      std::throw_with_nested(boost::system::system_error(e.code(), doing(edit)));
    }
  } catch (const boost::system::system_error&) {
    failure = std::current_exception();
  }
  if (failure) reporter.failed(edit, failure);  // reported here, where the edit is known
}

}  // namespace

void start_save(const asio::any_io_executor& ex, mockdb::DatabaseService& db, Edit edit,
                SaveReporter& reporter) {
  // every failure is reported inside, so there is nothing left to handle here
  asio::co_spawn(ex, save_in_context(db, std::move(edit), reporter), asio::detached);
}

}  // namespace ch10
