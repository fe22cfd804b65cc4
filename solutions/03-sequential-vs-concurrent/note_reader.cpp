// Chapter 03, the fix: start every read, then await them together.
//
// The reads are created without being started, handed to one operation that
// starts them all at once, and awaited as a group: N reads take about one
// latency. Results come back in the order the ids were given, whatever order
// the reads finished in, and a failed read is reported in its own result; an
// exception that is not a database error is rethrown once every read has ended.
#include "note_reader.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <utility>

namespace ch03 {

namespace asio = boost::asio;

boost::asio::awaitable<std::vector<NoteResult>> read_notes(mockdb::DatabaseService& db,
                                                           std::vector<mockdb::Id> ids) {
  if (ids.empty()) co_return std::vector<NoteResult>{};  // a group of none never completes
  //! [fix]
  const auto ex = co_await asio::this_coro::executor;
  using Read = decltype(asio::co_spawn(ex, read_note(db, 0), asio::deferred));
  std::vector<Read> reads;
  reads.reserve(ids.size());
  for (const mockdb::Id id : ids) {
    reads.push_back(asio::co_spawn(ex, read_note(db, id), asio::deferred));  // not started yet
  }
  // Starts every read now, and resumes when the last one has completed.
  auto [order, errors, results] =
      co_await asio::experimental::make_parallel_group(std::move(reads))
          .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);  // not a database error: a bug, or out of memory
  }
  //! [fix]
  co_return std::move(results);
}

boost::asio::awaitable<std::array<NoteResult, 3>> read_three(mockdb::DatabaseService& db,
                                                             mockdb::Id a, mockdb::Id b,
                                                             mockdb::Id c) {
  //! [fix_three]
  using namespace asio::experimental::awaitable_operators;
  auto [first, second, third] =
      co_await (read_note(db, a) && read_note(db, b) && read_note(db, c));  // all three at once
  //! [fix_three]
  co_return std::array{std::move(first), std::move(second), std::move(third)};
}

}  // namespace ch03
