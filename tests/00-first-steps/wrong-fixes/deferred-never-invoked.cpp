// WRONG: co_spawn with deferred, never invoked: nothing starts.
// expect: Nothing was queued on the io_context: the writes were never handed to the loop
//
// It spawns each write with the deferred token and never invokes the operations it gets back, so no
// write is ever started.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <cstddef>
#include <exception>

#include "note_saver.hpp"

namespace asio = boost::asio;

namespace ch00 {

std::vector<mockdb::Id> save_notes(asio::io_context& ctx, mockdb::DatabaseService& db,
                                   const std::vector<Note>& notes) {
  std::vector<mockdb::Id> ids(notes.size());
  std::exception_ptr failure;
  for (const Note& note : notes) {
    auto write = asio::co_spawn(ctx, write_note(db, note), asio::deferred);
    (void)write;  // described, never invoked
  }
  ctx.restart();
  ctx.run();
  if (failure) std::rethrow_exception(failure);
  return ids;
}

}  // namespace ch00
