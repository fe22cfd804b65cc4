// WRONG: run_for(100 ms) returns before a slower database has written.
// expect: with 400 ms per write: the writes started but save_notes returned before they were done
//
// It runs the loop for at most 100 ms, "long enough" for a fast database: with slower writes it
// returns before they are done.
#include <boost/asio/co_spawn.hpp>
#include <chrono>
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
  ctx.restart();
  ctx.run_for(std::chrono::milliseconds(100));  // surely enough
  if (failure) std::rethrow_exception(failure);
  return ids;
}

}  // namespace ch00
