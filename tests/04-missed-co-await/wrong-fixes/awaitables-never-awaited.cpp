// WRONG: save_notes() keeps each write's awaitable in a vector and never awaits it.
// expect: never written before success was reported
//
// save_notes() keeps each write's awaitable in a vector and never awaits it, so no write ever runs.
//
// A gallery entry for chapter 04's test: the vector silences the [[nodiscard]]
// error, and the awaitables are destroyed unrun when it goes out of scope.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <memory>
#include <utility>

#include "note_service.hpp"
#include "workbook/timer.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace ch04 {

asio::awaitable<SaveResult> save_note(mockdb::DatabaseService& db, std::string title,
                                      std::string body) {
  mockdb::Row row = note_row(title, body);
  const mockdb::Id id = co_await db.create(kNotesTable, std::move(row));
  co_return SaveResult{.saved = true, .id = id};
}

asio::awaitable<std::vector<SaveResult>> save_notes(mockdb::DatabaseService& db,
                                                    std::vector<Draft> drafts) {
  std::vector<asio::awaitable<mockdb::Id>> pending;
  std::vector<SaveResult> results;
  for (const Draft& draft : drafts) {
    mockdb::Row row = note_row(draft.title, draft.body);
    pending.push_back(db.create(kNotesTable, std::move(row)));  // built, never run
    results.push_back(SaveResult{.saved = true});
  }
  co_return results;
}

}  // namespace ch04
