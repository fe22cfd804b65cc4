// WRONG: the bridge always throws, so code on other threads has no way to call the store.
// expect: called from a thread that does not run the loop, failed
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <stdexcept>
#include <string>

#include "note_store.hpp"

namespace ch02 {
namespace {

// Runs `operation` on `loop` and waits for its result on this thread.
template <typename T>
T wait_on_loop([[maybe_unused]] const boost::asio::io_context::executor_type& loop,
               [[maybe_unused]] boost::asio::awaitable<T> operation, const std::string& what) {
  // Sync over async is the bug: the synchronous API is gone.
  throw std::logic_error("BlockingNoteStore::" + what + ": use NoteStore, it is asynchronous");
}

}  // namespace

std::optional<Note> BlockingNoteStore::find(mockdb::Id id) {
  return wait_on_loop(loop_, store_.find(id), "find(note " + std::to_string(id) + ")");
}

void BlockingNoteStore::log_view(mockdb::Id id) {
  wait_on_loop(loop_, store_.log_view(id), "log_view(note " + std::to_string(id) + ")");
}

boost::asio::awaitable<std::string> show_note(Services& services, mockdb::Id id) {
  const std::optional<Note> note = co_await services.store.find(id);  // suspends, no thread held
  if (!note) co_return not_found_page(id);
  co_await services.store.log_view(id);
  co_return note_page(*note);
}

}  // namespace ch02
