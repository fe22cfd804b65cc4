// WRONG: no restart(): a second call on the same io_context runs nothing.
// expect: io_context: nothing ran: .*already stopped when save_notes was called
//
// It runs the loop after spawning but never calls restart(): the first call works, and on a second
// call the loop, stopped by the first, runs nothing.
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
  ctx.run();  // returns at once if an earlier run() left ctx stopped
  if (failure) std::rethrow_exception(failure);
  return ids;
}

}  // namespace ch00
