// WRONG: future::get() before run(), on the loop thread: a deadlock.
// expect: deadlock: save_notes\([0-9]+ notes?\) on the test.s thread did not complete
//
// It spawns with use_future and calls get() before running the loop, on the thread that should run
// it: get() waits for a write that only run() could start, for good.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <cstddef>
#include <exception>
#include <future>

#include "note_saver.hpp"

namespace asio = boost::asio;

namespace ch00 {

std::vector<mockdb::Id> save_notes(asio::io_context& ctx, mockdb::DatabaseService& db,
                                   const std::vector<Note>& notes) {
  std::vector<mockdb::Id> ids;
  for (const Note& note : notes) {
    std::future<mockdb::Id> id = asio::co_spawn(ctx, write_note(db, note), asio::use_future);
    ids.push_back(id.get());  // blocks this thread: the loop never gets to run
  }
  ctx.restart();
  ctx.run();
  return ids;
}

}  // namespace ch00
