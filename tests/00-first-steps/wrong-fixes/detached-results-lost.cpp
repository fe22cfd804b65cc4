// WRONG: detached writes: the notes are written but the ids are lost.
// expect: but the database has no note with that id
//
// It spawns the writes detached and runs the loop: every note is written, but the ids (and errors)
// are thrown away, so it returns zeros.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cstddef>
#include <exception>

#include "note_saver.hpp"

namespace asio = boost::asio;

namespace ch00 {

std::vector<mockdb::Id> save_notes(asio::io_context& ctx, mockdb::DatabaseService& db,
                                   const std::vector<Note>& notes) {
  std::vector<mockdb::Id> ids(notes.size());
  for (const Note& note : notes) asio::co_spawn(ctx, write_note(db, note), asio::detached);
  ctx.restart();
  ctx.run();
  return ids;  // nobody filled them in
}

}  // namespace ch00
