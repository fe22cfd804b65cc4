// WRONG: save_notes() joins its writes but reports a failed write saved, with id 0.
// expect: the failure was swallowed
//
// save_notes() joins its writes but reports every draft saved, the failed one included, with id 0.
//
// A gallery entry for chapter 04's test: the parallel group's exceptions are
// ignored, so a failed write is reported as a saved note that does not exist.
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
  if (drafts.empty()) co_return std::vector<SaveResult>{};
  const auto ex = co_await asio::this_coro::executor;
  using CreateOp = decltype(asio::co_spawn(ex, db.create(kNotesTable, {}), asio::deferred));
  std::vector<CreateOp> creates;
  for (const Draft& draft : drafts) {
    mockdb::Row row = note_row(draft.title, draft.body);
    creates.push_back(asio::co_spawn(ex, db.create(kNotesTable, std::move(row)), asio::deferred));
  }
  auto [order, errors, ids] =
      co_await asio::experimental::make_parallel_group(std::move(creates))
          .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  std::vector<SaveResult> results;
  for (const mockdb::Id id : ids) {
    results.push_back(SaveResult{.saved = true, .id = id});  // errors are never looked at
  }
  co_return results;
}

}  // namespace ch04
