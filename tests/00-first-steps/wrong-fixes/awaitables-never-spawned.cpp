// WRONG: it keeps the awaitables in a vector and never spawns or awaits them.
// expect: Nothing was queued on the io_context: the writes were never handed to the loop
//
// It builds one awaitable per note and keeps them in a vector, then runs the loop: an awaitable
// never handed to co_spawn or co_await never runs.
#include <boost/asio/co_spawn.hpp>
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
  for (const Note& note : notes) writes.push_back(write_note(db, note));  // built, not run
  ctx.restart();
  ctx.run();  // no work: returns at once
  if (failure) std::rethrow_exception(failure);
  return ids;
}

}  // namespace ch00
