// RIGHT: a SaveError type (system_error + nested_exception, note, user, a source_location).
//
// A catch site can test the fields (note, user) instead of parsing what(), and the
// source_location says which line threw. Costs a class per kind of operation.
#include <boost/asio/co_spawn.hpp>
#include <boost/assert/source_location.hpp>
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

// A failed save: the database's code (so is_transient() and ErrorClass still
// work), what was being done, where, and the database's exception nested in
// it (std::nested_exception captures the exception being handled).
// boost::source_location, which Boost.System uses itself, rather than
// std::source_location: g++ 12 has the latter, but clang 14 with libstdc++ 12
// (the lint stage's compiler) does not. BOOST_CURRENT_LOCATION in a default
// argument names the caller's line, as std::source_location::current() would.
class SaveError : public boost::system::system_error, public std::nested_exception {
 public:
  SaveError(const Edit& edit, boost::system::error_code code,
            boost::source_location where = BOOST_CURRENT_LOCATION)
      : boost::system::system_error(code, "saving note " + std::to_string(edit.note) +
                                              " for user " + std::to_string(edit.user)),
        note(edit.note),
        user(edit.user),
        where(where) {}
  mockdb::Id note;
  mockdb::Id user;
  boost::source_location where;  // the line that gave up, for whoever reads the report
};

// save(), with what it was doing added to its failures: the same code, so a
// caller can still test it (is_transient, ErrorClass), and the database's own
// exception nested inside, for std::rethrow_if_nested.
asio::awaitable<void> save_in_context(mockdb::DatabaseService& db, Edit edit,
                                      SaveReporter& reporter) {
  try {
    co_await save(db, edit, reporter);
  } catch (const boost::system::system_error& failure) {
    throw SaveError(edit, failure.code());  // nests the exception being handled
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
