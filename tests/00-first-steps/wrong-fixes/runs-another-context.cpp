// WRONG: it runs an io_context of its own; the writes wait on ctx, never run.
// expect: but its loop never ran
//
// It runs a fresh io_context of its own while the writes wait on ctx, whose loop nobody runs.
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
  asio::io_context loop;  // "the" event loop, but not the one the writes were given to
  loop.run();
  if (failure) std::rethrow_exception(failure);
  return ids;
}

}  // namespace ch00
