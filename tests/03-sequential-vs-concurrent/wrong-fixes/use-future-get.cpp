// WRONG: co_spawn(..., use_future) then get() on the loop's thread: no read can complete.
// expect: deadlock: read_notes\(\) of 3 ids did not complete
//
// use_future is the token for code that runs on *another* thread than the
// loop (boost/asio/impl/use_future.hpp: the future is set by the handler,
// which the loop must run). Inside a coroutine on the loop, get() waits for
// a handler that this very thread would have to run: the program freezes
// (the subject of chapter 02, sync over async, coming later).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <utility>

#include "note_reader.hpp"

namespace ch03 {

namespace asio = boost::asio;

boost::asio::awaitable<std::vector<NoteResult>> read_notes(mockdb::DatabaseService& db,
                                                           std::vector<mockdb::Id> ids) {
  const auto ex = co_await asio::this_coro::executor;
  std::vector<std::future<NoteResult>> reads;
  reads.reserve(ids.size());
  for (const mockdb::Id id : ids)
    reads.push_back(asio::co_spawn(ex, read_note(db, id), asio::use_future));
  std::vector<NoteResult> results;
  results.reserve(reads.size());
  for (auto& read : reads) results.push_back(read.get());  // blocks the loop's thread
  co_return results;
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
