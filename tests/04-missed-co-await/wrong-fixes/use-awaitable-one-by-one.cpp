// WRONG: co_spawn(..., use_awaitable) awaited one by one writes the drafts in turn.
// expect: did not overlap its writes
//
// co_spawn(..., use_awaitable) only starts a write when it is awaited, so awaiting the vector in a
// loop writes one draft after another.
//
// A gallery entry for chapter 04's test: a learner who reads "co_spawn starts
// the work" builds every spawn first and awaits them afterwards. With
// use_awaitable the spawn is itself lazy: nothing overlaps.
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
  using Write = decltype(asio::co_spawn(ex, db.create(kNotesTable, {}), asio::use_awaitable));
  std::vector<Write> writes;
  for (const Draft& draft : drafts) {
    mockdb::Row row = note_row(draft.title, draft.body);
    writes.push_back(
        asio::co_spawn(ex, db.create(kNotesTable, std::move(row)), asio::use_awaitable));
  }
  std::vector<SaveResult> results;
  for (Write& write : writes) {
    try {
      results.push_back(SaveResult{.saved = true, .id = co_await std::move(write)});
    } catch (...) {
      results.push_back(failed_write(std::current_exception()));
    }
  }
  co_return results;
}

}  // namespace ch04
