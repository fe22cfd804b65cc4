// WRONG: the completion handler captures by reference: the edit it reports is start_save()'s, gone.
// expect: a handler's captures must own what they use
//
// [&] looks harmless because the handler sits next to co_spawn. But start_save()
// returns before the save ends: by the time the handler runs, its edit parameter has
// been moved from and destroyed, and reporting it reads a dead object (undefined
// behaviour; here the copy of its strings asks for absurd sizes and throws).
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
  try {
    co_await save(db, edit, reporter);
  } catch (const boost::system::system_error& failure) {
    std::throw_with_nested(boost::system::system_error(failure.code(), doing(edit)));
  }
}

}  // namespace

void start_save(const asio::any_io_executor& ex, mockdb::DatabaseService& db, Edit edit,
                SaveReporter& reporter) {
  auto report_failure = [&](const std::exception_ptr& failure) {
    if (failure) reporter.failed(edit, failure);  // to the caller, not into the void
  };
  asio::co_spawn(ex, save_in_context(db, std::move(edit), reporter), report_failure);
}

}  // namespace ch10
