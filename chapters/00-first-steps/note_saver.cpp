// Chapter 00, the pitfall: the event loop is run before it has any work.
//
// save_notes() starts the loop first, the way one starts a worker thread and
// then gives it jobs. But io_context::run() is not a worker waiting for jobs:
// it runs handlers until there are none left, and then returns. Called first,
// it finds nothing to do and returns at once. The writes spawned after it
// are queued on a loop that nobody runs, and save_notes() returns ids that
// no note in the database has.
#include "note_saver.hpp"

#include <boost/asio/co_spawn.hpp>
#include <cstddef>
#include <exception>

namespace asio = boost::asio;

namespace ch00 {

std::vector<mockdb::Id> save_notes(asio::io_context& ctx, mockdb::DatabaseService& db,
                                   const std::vector<Note>& notes) {
  std::vector<mockdb::Id> ids(notes.size());
  std::exception_ptr failure;  // the first write that failed, if any
  //! [pitfall]
  ctx.run();  // "start the event loop": it has no work yet, so it returns at once
  for (std::size_t i = 0; i < notes.size(); ++i) {
    // Queues the write on ctx; the handler runs when the write completes.
    asio::co_spawn(ctx, write_note(db, notes[i]),
                   [&ids, &failure, i](const std::exception_ptr& error, mockdb::Id id) {
                     if (error && !failure) failure = error;
                     if (!error) ids[i] = id;
                   });
  }
  //! [pitfall]
  if (failure) std::rethrow_exception(failure);
  return ids;  // all zero: no write has run
}

}  // namespace ch00
