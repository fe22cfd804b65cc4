// RIGHT: Halves saved at once with &&, recursively: all writes overlap, results in place.
//
// save_notes() splits the drafts in halves and saves both at once with awaitable_operators' &&,
// down to single writes, so every write is in flight together and each result lands in its draft's
// place.
//
// A gallery entry for chapter 04's test: operator&& runs a fixed number of
// operations concurrently; recursion makes it cover any number. Each single
// write reports its own failure, so && never cancels the other half.
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <exception>
#include <span>
#include <utility>

#include "note_service.hpp"

namespace asio = boost::asio;

namespace ch04 {

namespace {

asio::awaitable<SaveResult> write_draft(mockdb::DatabaseService& db, const Draft& draft) {
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

// Saves `drafts` into `results` (of the same size). `drafts` is owned by
// save_notes(), which awaits this to the end, so the span stays valid.
asio::awaitable<void> save_range(mockdb::DatabaseService& db, std::span<const Draft> drafts,
                                 std::span<SaveResult> results) {
  if (drafts.empty()) co_return;
  if (drafts.size() == 1) {
    results[0] = co_await write_draft(db, drafts[0]);
    co_return;
  }
  using namespace asio::experimental::awaitable_operators;
  const std::size_t half = drafts.size() / 2;
  auto first = save_range(db, drafts.first(half), results.first(half));
  auto second = save_range(db, drafts.subspan(half), results.subspan(half));
  co_await (std::move(first) && std::move(second));
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
  std::vector<SaveResult> results(drafts.size());
  co_await save_range(db, drafts, results);
  co_return results;
}

}  // namespace ch04
