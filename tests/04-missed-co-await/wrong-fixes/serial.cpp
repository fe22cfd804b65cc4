// WRONG: save_notes() awaits each write before starting the next: N writes take N latencies.
// expect: did not overlap its writes
//
//
// save_notes() awaits each write before it starts the next, so N writes take N latencies.
//
// A gallery entry for chapter 04's test: every note is written and reported, in
// order, with its id; only the concurrency the batch promises is missing.
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
  std::vector<SaveResult> results;
  for (const Draft& draft : drafts) {
    mockdb::Row row = note_row(draft.title, draft.body);
    try {
      const mockdb::Id id = co_await db.create(kNotesTable, std::move(row));
      results.push_back(SaveResult{.saved = true, .id = id});
    } catch (...) {
      results.push_back(failed_write(std::current_exception()));
    }
  }
  co_return results;
}

}  // namespace ch04
