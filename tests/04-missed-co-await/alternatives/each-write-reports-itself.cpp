// RIGHT: Each write a coroutine reporting its own failure; a parallel group joins them.
//
// each draft's write is a coroutine that turns its own failure into its result, and a parallel
// group over them, awaited, starts them all at once and yields the results in the drafts' order.
//
// A gallery entry for chapter 04's test: chapter 03's design (a read that
// never throws a database error) applied to writes. The group's exceptions
// can then only be bugs, which are rethrown.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <utility>

#include "note_service.hpp"

namespace asio = boost::asio;

namespace ch04 {

namespace {

// One draft's write, its database error reported in its result.
asio::awaitable<SaveResult> write_draft(mockdb::DatabaseService& db, Draft draft) {
  mockdb::Row row = note_row(draft.title, draft.body);
  std::exception_ptr failure;
  try {
    const mockdb::Id id = co_await db.create(kNotesTable, std::move(row));
    co_return SaveResult{.saved = true, .id = id};
  } catch (...) {
    failure = std::current_exception();
  }
  co_return failed_write(failure);
}

}  // namespace

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
  using Write = decltype(asio::co_spawn(ex, write_draft(db, Draft{}), asio::deferred));
  std::vector<Write> writes;
  writes.reserve(drafts.size());
  for (Draft& draft : drafts) {
    writes.push_back(asio::co_spawn(ex, write_draft(db, std::move(draft)), asio::deferred));
  }
  auto [order, bugs, results] =
      co_await asio::experimental::make_parallel_group(std::move(writes))
          .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (const std::exception_ptr& bug : bugs) {
    if (bug) std::rethrow_exception(bug);  // not a database error
  }
  co_return std::move(results);
}

}  // namespace ch04
