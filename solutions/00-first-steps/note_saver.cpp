// Chapter 00, the fix: hand the work to the event loop, then run the loop.
//
// co_spawn() queues each write on ctx (outside the loop it can only queue),
// and ctx.run() then runs the loop until there is nothing left to do: every
// write started, completed, and its handler stored the id. Only then does
// save_notes() return. restart() first, because a loop that ran out of work
// in an earlier call is stopped, and run() on a stopped io_context returns
// at once.
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
  //! [fix]
  for (std::size_t i = 0; i < notes.size(); ++i) {
    // Queues the write on ctx; the handler runs when the write completes.
    asio::co_spawn(ctx, write_note(db, notes[i]),
                   [&ids, &failure, i](const std::exception_ptr& error, mockdb::Id id) {
                     if (error && !failure) failure = error;
                     if (!error) ids[i] = id;
                   });
  }
  ctx.restart();  // an earlier run() that ran out of work left ctx stopped
  ctx.run();      // runs the loop until every write and its handler are done
  //! [fix]
  if (failure) std::rethrow_exception(failure);
  return ids;
}

}  // namespace ch00
