// WRONG: poll() returns while the writes still wait for the database.
// expect: the writes started but save_notes returned before they were done
//
// It calls poll(), which runs only the handlers ready now: the writes start, and save_notes returns
// while they wait for the database.
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
  ctx.restart();
  ctx.poll();  // runs what is ready, waits for nothing
  if (failure) std::rethrow_exception(failure);
  return ids;
}

}  // namespace ch00
