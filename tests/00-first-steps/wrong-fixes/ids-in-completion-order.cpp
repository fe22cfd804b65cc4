// WRONG: ids appended in completion order, not in the order of the notes.
// expect: the ids are not in the order of the notes
//
// Its handler appends each id when the write completes, so the ids come in the order the writes
// finished, not in the order of the notes.
#include <boost/asio/co_spawn.hpp>
#include <cstddef>
#include <exception>

#include "note_saver.hpp"

namespace asio = boost::asio;

namespace ch00 {

std::vector<mockdb::Id> save_notes(asio::io_context& ctx, mockdb::DatabaseService& db,
                                   const std::vector<Note>& notes) {
  std::vector<mockdb::Id> ids;
  std::exception_ptr failure;
  for (const Note& note : notes) {
    asio::co_spawn(ctx, write_note(db, note),
                   [&ids, &failure](const std::exception_ptr& error, mockdb::Id id) {
                     if (error && !failure) failure = error;
                     if (!error) ids.push_back(id);  // in completion order
                   });
  }
  ctx.restart();
  ctx.run();
  if (failure) std::rethrow_exception(failure);
  return ids;
}

}  // namespace ch00
