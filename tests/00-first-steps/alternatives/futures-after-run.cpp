// RIGHT: use_future for each write; get() only after run() has returned.
//
// Each write is spawned with use_future, the loop runs until all are done, and only then are the
// futures read, in the order of the notes.
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
  std::vector<std::future<mockdb::Id>> writes;
  writes.reserve(notes.size());
  for (const Note& note : notes) {
    writes.push_back(asio::co_spawn(ctx, write_note(db, note), asio::use_future));
  }
  ctx.restart();
  ctx.run();  // every future is ready when it returns
  std::vector<mockdb::Id> ids;
  std::exception_ptr failure;
  for (auto& write : writes) {
    try {
      ids.push_back(write.get());
    } catch (...) {
      if (!failure) failure = std::current_exception();
      ids.push_back(0);
    }
  }
  if (failure) std::rethrow_exception(failure);
  return ids;
}

}  // namespace ch00
