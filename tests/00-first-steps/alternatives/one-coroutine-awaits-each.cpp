// RIGHT: one coroutine awaits each write in turn; run() waits for it.
//
// One coroutine writes the notes one after another with co_await, and the loop runs until it is
// done; correct, though the writes no longer overlap.
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
  auto save_all = [&]() -> asio::awaitable<void> {
    for (const Note& note : notes) {
      try {
        ids.push_back(co_await write_note(db, note));
      } catch (...) {  // keep the first failure, and go on with the other notes
        if (!failure) failure = std::current_exception();
        ids.push_back(0);
      }
    }
  };
  asio::co_spawn(ctx, save_all(), [&failure](const std::exception_ptr& error) {
    if (error) failure = error;
  });
  ctx.restart();
  ctx.run();
  if (failure) std::rethrow_exception(failure);
  return ids;
}

}  // namespace ch00
