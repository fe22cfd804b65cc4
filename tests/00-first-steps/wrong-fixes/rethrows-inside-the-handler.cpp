// WRONG: it rethrows inside the handler, leaving run() with writes pending.
// expect: threw the failed write.s error before the other writes were done
//
// Its handler rethrows a failed write at once, which leaves run() while the other writes are still
// pending, with handlers that refer to the local ids.
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
                   [&ids, i](const std::exception_ptr& error, mockdb::Id id) {
                     if (error) std::rethrow_exception(error);  // out of run(), at once
                     ids[i] = id;
                   });
  }
  ctx.restart();
  ctx.run();
  return ids;
}

}  // namespace ch00
