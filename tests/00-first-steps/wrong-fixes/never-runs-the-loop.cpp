// WRONG: ctx.run() was deleted, not moved: the queued writes never run.
// expect: but its loop never ran
//
// The ctx.run() call is deleted instead of moved: the writes are queued on the io_context and
// nobody ever runs its loop.
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
  for (std::size_t i = 0; i < notes.size(); ++i) {
    asio::co_spawn(ctx, write_note(db, notes[i]),
                   [&ids, &failure, i](const std::exception_ptr& error, mockdb::Id id) {
                     if (error && !failure) failure = error;
                     if (!error) ids[i] = id;
                   });
  }
  // The loop is left to the caller, which never runs it.
  if (failure) std::rethrow_exception(failure);
  return ids;
}

}  // namespace ch00
