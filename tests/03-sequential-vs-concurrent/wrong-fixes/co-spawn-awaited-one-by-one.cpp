// WRONG: co_await co_spawn(..., use_awaitable) per read: each spawn starts when awaited.
// expect: Awaiting co_spawn\(\.\.\., use_awaitable\) in a loop is still one at a time
//
// A learner read "co_spawn starts each read" and wrapped every read in a
// co_spawn. With the use_awaitable token, co_spawn returns an awaitable that
// calls the initiation only when it is awaited (boost/asio/impl/use_awaitable.hpp,
// async_result<use_awaitable_t>::initiate is itself a lazy coroutine); the
// `co_await` then waits for that read to end before the loop spawns the next.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

#include "note_reader.hpp"

namespace ch03 {

namespace asio = boost::asio;

boost::asio::awaitable<std::vector<NoteResult>> read_notes(mockdb::DatabaseService& db,
                                                           std::vector<mockdb::Id> ids) {
  const auto ex = co_await asio::this_coro::executor;
  std::vector<NoteResult> results;
  results.reserve(ids.size());
  for (const mockdb::Id id : ids) {
    results.push_back(co_await asio::co_spawn(ex, read_note(db, id), asio::use_awaitable));
  }
  co_return results;
}

boost::asio::awaitable<std::array<NoteResult, 3>> read_three(mockdb::DatabaseService& db,
                                                             mockdb::Id a, mockdb::Id b,
                                                             mockdb::Id c) {
  const auto ex = co_await asio::this_coro::executor;
  NoteResult first = co_await asio::co_spawn(ex, read_note(db, a), asio::use_awaitable);
  NoteResult second = co_await asio::co_spawn(ex, read_note(db, b), asio::use_awaitable);
  NoteResult third = co_await asio::co_spawn(ex, read_note(db, c), asio::use_awaitable);
  co_return std::array{std::move(first), std::move(second), std::move(third)};
}

}  // namespace ch03
