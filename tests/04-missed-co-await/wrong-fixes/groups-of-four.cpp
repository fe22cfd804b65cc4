// WRONG: Writes joined in groups of four: fits the test's batch of 4, not a larger one.
// expect: did not overlap its writes
//
// save_notes() writes the drafts in groups of four, which fits the first test's batch of four but
// overlaps no more than four writes of a larger batch.
//
// A gallery entry for chapter 04's test: a fix that fits the test's size. Each
// group of four is joined correctly, so with four drafts nothing is wrong.
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
  using CreateOp = decltype(asio::co_spawn(ex, db.create(kNotesTable, {}), asio::deferred));
  std::vector<SaveResult> results;
  for (std::size_t first = 0; first < drafts.size(); first += 4) {
    std::vector<CreateOp> creates;
    for (std::size_t i = first; i < drafts.size() && i < first + 4; ++i) {
      mockdb::Row row = note_row(drafts[i].title, drafts[i].body);
      creates.push_back(asio::co_spawn(ex, db.create(kNotesTable, std::move(row)), asio::deferred));
    }
    auto [order, errors, ids] =
        co_await asio::experimental::make_parallel_group(std::move(creates))
            .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    for (std::size_t k = 0; k < ids.size(); ++k) {
      results.push_back(errors[k] ? failed_write(errors[k])
                                  : SaveResult{.saved = true, .id = ids[k]});
    }
  }
  co_return results;
}

}  // namespace ch04
