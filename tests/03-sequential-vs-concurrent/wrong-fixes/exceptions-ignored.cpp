// WRONG: the group's exceptions are never looked at, so a bug in one read is swallowed.
// expect: the exception was swallowed
//
// The shortest version of the fix drops the loop over `errors`. Nothing in the
// ordinary tests notices, because read_note() never throws a database error;
// a bug in a read (here: a logic_error the test plants) vanishes.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

#include "note_reader.hpp"

namespace ch03 {

namespace asio = boost::asio;

boost::asio::awaitable<std::vector<NoteResult>> read_notes(mockdb::DatabaseService& db,
                                                           std::vector<mockdb::Id> ids) {
  if (ids.empty()) co_return std::vector<NoteResult>{};
  const auto ex = co_await asio::this_coro::executor;
  using Read = decltype(asio::co_spawn(ex, read_note(db, 0), asio::deferred));
  std::vector<Read> reads;
  reads.reserve(ids.size());
  for (const mockdb::Id id : ids)
    reads.push_back(asio::co_spawn(ex, read_note(db, id), asio::deferred));
  auto [order, errors, results] =
      co_await asio::experimental::make_parallel_group(std::move(reads))
          .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  co_return std::move(results);
}

boost::asio::awaitable<std::array<NoteResult, 3>> read_three(mockdb::DatabaseService& db,
                                                             mockdb::Id a, mockdb::Id b,
                                                             mockdb::Id c) {
  std::vector<mockdb::Id> ids{
      a, b, c};  // not a braced list in the call: GCC 12 rejects it in a coroutine
  auto notes = co_await read_notes(db, std::move(ids));
  std::array<NoteResult, 3> three{std::move(notes[0]), std::move(notes[1]), std::move(notes[2])};
  co_return three;
}

}  // namespace ch03
