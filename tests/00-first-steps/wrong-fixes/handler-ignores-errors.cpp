// WRONG: the handler ignores the exception_ptr: a failed write is lost.
// expect: the error was swallowed
//
// Its handler stores the id and ignores the exception_ptr, so a failed write is reported as saved
// with id 0.
#include <boost/asio/co_spawn.hpp>
#include <cstddef>
#include <exception>

#include "note_saver.hpp"

namespace asio = boost::asio;

namespace ch00 {

std::vector<mockdb::Id> save_notes(asio::io_context& ctx, mockdb::DatabaseService& db,
                                   const std::vector<Note>& notes) {
  std::vector<mockdb::Id> ids(notes.size());
  for (std::size_t i = 0; i < notes.size(); ++i) {
    asio::co_spawn(ctx, write_note(db, notes[i]),
                   [&ids, i](const std::exception_ptr&, mockdb::Id id) { ids[i] = id; });
  }
  ctx.restart();
  ctx.run();
  return ids;
}

}  // namespace ch00
