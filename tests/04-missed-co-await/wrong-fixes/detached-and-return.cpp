// WRONG: save_note() fixed, but save_notes() still spawns detached and returns at once.
// expect: were still running
//
// save_note() is fixed but save_notes() still spawns each write detached and returns at once,
// reporting every draft saved without an id.
//
// A gallery entry for chapter 04's test: half a fix, the pitfall's batch left as
// it was because "co_spawn runs it".
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
  const auto ex = co_await asio::this_coro::executor;
  std::vector<SaveResult> results;
  for (const Draft& draft : drafts) {
    mockdb::Row row = note_row(draft.title, draft.body);
    asio::co_spawn(ex, db.create(kNotesTable, std::move(row)), asio::detached);
    results.push_back(SaveResult{.saved = true});
  }
  co_return results;
}

}  // namespace ch04
