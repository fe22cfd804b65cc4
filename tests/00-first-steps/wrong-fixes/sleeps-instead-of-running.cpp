// WRONG: it sleeps instead of running the loop, and a sleep runs no handler.
// expect: but its loop never ran
//
// It waits 50 ms for the writes instead of running the loop; a sleep runs no handler, so nothing is
// ever written.
#include <boost/asio/co_spawn.hpp>
#include <chrono>
#include <cstddef>
#include <exception>
#include <thread>

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
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // "give them time"
  if (failure) std::rethrow_exception(failure);
  return ids;
}

}  // namespace ch00
