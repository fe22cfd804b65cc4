// Chapter 05, the pitfall: a deadline that is checked, not enforced.
//
// run_with_timeout() measures how long the operation took and complains when
// it took too long. But it only looks once the operation has completed: a
// read that never completes is never timed out, and the request that awaits
// it waits for good, holding its connection. The settings are all there (a
// default per service, a timeout per call); nothing ever acts on them in time.
#include "note_service.hpp"

#include <utility>

namespace ch05 {

boost::asio::awaitable<void> run_with_timeout(boost::asio::awaitable<void> op,
                                              workbook::Clock::duration limit, std::string what) {
  //! [pitfall]
  const auto start = workbook::Clock::now();
  co_await std::move(op);  // waits as long as the database takes: forever, if it hangs
  if (workbook::Clock::now() - start > limit) {
    throw_timed_out(what, limit);  // too late: the caller has waited all along
  }
  //! [pitfall]
}

boost::asio::awaitable<std::optional<mockdb::Row>> NoteService::get_note(
    mockdb::Id id, std::optional<workbook::Clock::duration> timeout) {
  //! [request]
  const workbook::Clock::duration limit = timeout.value_or(default_timeout_);
  auto read = db_.read(kNotesTable, id);
  co_return co_await with_timeout(std::move(read), limit, "reading note " + std::to_string(id));
  //! [request]
}

boost::asio::awaitable<std::optional<Page>> NoteService::load_page(
    mockdb::Id id, std::optional<workbook::Clock::duration> timeout) {
  const workbook::Clock::duration limit = timeout.value_or(default_timeout_);
  auto page = fetch_page(db_, id);  // the read and the query, under one deadline
  co_return co_await with_timeout(std::move(page), limit,
                                  "loading the page of note " + std::to_string(id));
}

}  // namespace ch05
