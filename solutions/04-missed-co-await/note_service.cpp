// Chapter 04, the fix: await every write, and join what you spawn.
//
// save_note() awaits db.create() and reports the id the database assigned.
// save_notes() still starts all its writes at once, but as a parallel group
// that it awaits: it returns only when every write has completed, with one
// result per draft: the id, or the error of a write that failed. A failure
// reaches the caller without taking the other drafts' ids with it.
#include "note_service.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

namespace asio = boost::asio;

namespace ch04 {

namespace {

// One write, spawned on `ex` when the group launches it.
using CreateOp =
    decltype(asio::co_spawn(std::declval<asio::any_io_executor>(),
                            std::declval<asio::awaitable<mockdb::Id>>(), asio::deferred));
}  // namespace

asio::awaitable<SaveResult> save_note(mockdb::DatabaseService& db, std::string title,
                                      std::string body) {
  mockdb::Row row = note_row(title, body);
  //! [fix]
  const mockdb::Id id = co_await db.create(kNotesTable, std::move(row));  // runs it, to the end
  co_return SaveResult{.saved = true, .id = id};                          // the database's id
  //! [fix]
}

asio::awaitable<std::vector<SaveResult>> save_notes(mockdb::DatabaseService& db,
                                                    std::vector<Draft> drafts) {
  // A parallel group of no operations never completes (Boost 1.81).
  if (drafts.empty()) co_return std::vector<SaveResult>{};
  const auto ex = co_await asio::this_coro::executor;
  std::vector<SaveResult> results;
  //! [fix-batch]
  std::vector<CreateOp> creates;
  for (const Draft& draft : drafts) {
    mockdb::Row row = note_row(draft.title, draft.body);
    creates.push_back(asio::co_spawn(ex, db.create(kNotesTable, std::move(row)), asio::deferred));
  }
  auto group = asio::experimental::make_parallel_group(std::move(creates));
  auto [order, errors, ids] =
      co_await group.async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (std::size_t i = 0; i < ids.size(); ++i) {  // both vectors in the drafts' order
    if (errors[i]) {
      results.push_back(failed_write(errors[i]));  // this draft's error; the others still count
    } else {
      results.push_back(SaveResult{.saved = true, .id = ids[i]});
    }
  }
  co_return results;  // every write has completed
  //! [fix-batch]
}

}  // namespace ch04
