// Chapter 04, the pitfall: database writes that are built but never awaited.
//
// Both functions compile without a warning and report success. save_note()
// keeps the awaitable for db.create() in a variable and never awaits it: an
// Asio awaitable is lazy, so the write never even starts. save_notes() spawns
// each write detached: co_spawn dispatches, so on the loop's own thread each
// write starts at once and runs until it waits for the database; then
// save_notes() goes on and returns, before any write has completed. The
// writes complete later, if the event loop keeps running, and their ids and
// errors reach nobody.
#include "note_service.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <utility>

namespace asio = boost::asio;

namespace ch04 {

asio::awaitable<SaveResult> save_note(mockdb::DatabaseService& db, std::string title,
                                      std::string body) {
  mockdb::Row row = note_row(title, body);
  //! [pitfall]
  auto created = db.create(kNotesTable, std::move(row));  // an operation, built and never run
  co_return SaveResult{.saved = true};                    // no id: nothing was written
  //! [pitfall]
}

asio::awaitable<std::vector<SaveResult>> save_notes(mockdb::DatabaseService& db,
                                                    std::vector<Draft> drafts) {
  const auto ex = co_await asio::this_coro::executor;
  std::vector<SaveResult> results;
  //! [pitfall-batch]
  for (const Draft& draft : drafts) {
    mockdb::Row row = note_row(draft.title, draft.body);
    asio::co_spawn(ex, db.create(kNotesTable, std::move(row)), asio::detached);  // not joined
    results.push_back(SaveResult{.saved = true});  // no id, and no error if it fails
  }
  co_return results;  // every write is still waiting for the database
  //! [pitfall-batch]
}

}  // namespace ch04
