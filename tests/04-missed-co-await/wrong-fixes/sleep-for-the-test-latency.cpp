// WRONG: Detached writes, then a sleep of the test's 5 ms latency: slower writes run on.
// expect: were still running
//
// save_notes() spawns its writes detached and sleeps exactly the 5 ms the first test's database
// takes per write, so any slower write is still running when it returns.
//
// A gallery entry for chapter 04's test: a sleep tuned to the test's own
// figure. It passes a test whose every write takes 5 ms, and nothing else.
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
  auto results = std::make_shared<std::vector<SaveResult>>(drafts.size());
  for (std::size_t i = 0; i < drafts.size(); ++i) {
    mockdb::Row row = note_row(drafts[i].title, drafts[i].body);
    asio::co_spawn(ex, db.create(kNotesTable, std::move(row)),
                   [results, i](const std::exception_ptr& e, mockdb::Id id) {
                     (*results)[i] = e ? failed_write(e) : SaveResult{.saved = true, .id = id};
                   });
  }
  co_await workbook::sleep_for(5ms);  // the test database's latency
  co_return *results;
}

}  // namespace ch04
