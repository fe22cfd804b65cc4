// RIGHT: a supervisor awaits co_spawn(save, as_tuple(use_awaitable)) and reports the error value.
//
// The same report and context, reached as a value instead of in a handler. detached is
// harmless here because what it would drop was already handled.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
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

// Awaits the save as a value: as_tuple turns co_spawn's (exception_ptr)
// completion into a std::tuple instead of a rethrow. Nothing is left for the
// detached handler to drop: supervise() itself does not throw (unless the
// reporter does).
asio::awaitable<void> supervise(mockdb::DatabaseService& db, Edit edit, SaveReporter& reporter) {
  const auto ex = co_await asio::this_coro::executor;
  auto [failure] = co_await asio::co_spawn(ex, save_in_context(db, edit, reporter),
                                           asio::as_tuple(asio::use_awaitable));
  if (failure) reporter.failed(edit, failure);
}

}  // namespace

void start_save(const asio::any_io_executor& ex, mockdb::DatabaseService& db, Edit edit,
                SaveReporter& reporter) {
  asio::co_spawn(ex, supervise(db, std::move(edit), reporter), asio::detached);
}

}  // namespace ch10
