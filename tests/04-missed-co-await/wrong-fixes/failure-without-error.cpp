// WRONG: save_notes() reports a failed draft not saved, but drops its error.
// expect: without an error
//
// save_notes() reports a failed draft as not saved but drops its error, so the caller cannot tell
// why or whether to retry.
//
// A gallery entry for chapter 04's test: an error swallowed halfway.
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
  for (std::size_t i = 0; i < ids.size(); ++i) {
    results.push_back(errors[i] ? SaveResult{} : SaveResult{.saved = true, .id = ids[i]});
  }
  co_return results;
}

}  // namespace ch04
