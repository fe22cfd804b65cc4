// WRONG: co_spawn with use_awaitable, never awaited: nothing starts.
// expect: co_spawn with use_awaitable or deferred only returns an operation
//
// It passes use_awaitable to co_spawn outside any coroutine and keeps what it returns: with that
// token co_spawn only returns an awaitable, which starts when a coroutine awaits it.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <exception>

#include "note_saver.hpp"

namespace asio = boost::asio;

namespace ch00 {

std::vector<mockdb::Id> save_notes(asio::io_context& ctx, mockdb::DatabaseService& db,
                                   const std::vector<Note>& notes) {
  std::vector<mockdb::Id> ids(notes.size());
  std::exception_ptr failure;
  std::vector<asio::awaitable<mockdb::Id>> writes;
  writes.reserve(notes.size());
  for (const Note& note : notes) {
    writes.push_back(asio::co_spawn(ctx, write_note(db, note), asio::use_awaitable));
  }
  ctx.restart();
  ctx.run();  // nothing was started: returns at once
  if (failure) std::rethrow_exception(failure);
  return ids;
}

}  // namespace ch00
