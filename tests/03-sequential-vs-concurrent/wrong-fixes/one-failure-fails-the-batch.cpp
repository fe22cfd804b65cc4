// WRONG: one failed read (a database error) is thrown, losing the notes that were read.
// expect: threw mockdb::DatabaseError .* when 1 of 3 reads failed
//
// A learner who finds NoteResult clumsy reads with db.read() directly and
// lets the first database error escape: "errors made fatal". That is the
// right policy only when a partial answer is useless; this page wants the
// other notes and a "could not load" for the failed one.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <utility>

#include "note_reader.hpp"

namespace ch03 {

namespace asio = boost::asio;

boost::asio::awaitable<std::vector<NoteResult>> read_notes(mockdb::DatabaseService& db,
                                                           std::vector<mockdb::Id> ids) {
  if (ids.empty()) co_return std::vector<NoteResult>{};
  const auto ex = co_await asio::this_coro::executor;
  using Read = decltype(asio::co_spawn(ex, db.read(kNotesTable, 0), asio::deferred));
  std::vector<Read> reads;
  reads.reserve(ids.size());
  for (const mockdb::Id id : ids) {
    reads.push_back(asio::co_spawn(ex, db.read(kNotesTable, id), asio::deferred));
  }
  auto [order, errors, rows] =
      co_await asio::experimental::make_parallel_group(std::move(reads))
          .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);  // any failure fails the page
  }
  std::vector<NoteResult> results(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    results[i].id = ids[i];
    results[i].note = std::move(rows[i]);
  }
  co_return results;
}

boost::asio::awaitable<std::array<NoteResult, 3>> read_three(mockdb::DatabaseService& db,
                                                             mockdb::Id a, mockdb::Id b,
                                                             mockdb::Id c) {
  using namespace asio::experimental::awaitable_operators;
  auto [first, second, third] =
      co_await (db.read(kNotesTable, a) && db.read(kNotesTable, b) && db.read(kNotesTable, c));
  co_return std::array{NoteResult{a, std::move(first), {}}, NoteResult{b, std::move(second), {}},
                       NoteResult{c, std::move(third), {}}};
}

}  // namespace ch03
