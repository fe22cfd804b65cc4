// Chapter 10, the pitfall: a background save whose failure goes nowhere.
//
// save() reports the outcomes it expects (saved, refused) to the caller's
// reporter, and lets a database failure propagate, as it should. But
// start_save() spawns it with asio::detached, whose completion handler takes
// the coroutine's exception_ptr and does nothing with it: the save failed,
// and nothing anywhere says so. Had the failure reached anyone, it would say
// only "connection reset", and not which note, or whose, was being saved.
#include "note_saver.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/value.hpp>
#include <utility>

namespace asio = boost::asio;

namespace ch10 {

namespace {

//! [same-title]
// The user's notes with this exact title. The title is a parameter, never part
// of the SQL text: whatever the user typed stays data.
constexpr const char* kSameTitle = "SELECT * FROM notes WHERE owner = $1 AND title = $2";
//! [same-title]

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

}  // namespace

void start_save(const asio::any_io_executor& ex, mockdb::DatabaseService& db, Edit edit,
                SaveReporter& reporter) {
  //! [pitfall]
  asio::co_spawn(ex, save(db, std::move(edit), reporter), asio::detached);  // drops the exception
  //! [pitfall]
}

}  // namespace ch10
