// WRONG: the read is awaited, but the view is still logged through the blocking bridge.
// expect: BlockingNoteStore::log_view\(note 1\) was called on a thread that runs the event loop
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <stdexcept>
#include <string>

#include "note_store.hpp"

namespace ch02 {
namespace {

// Runs `operation` on `loop` and waits for its result on this thread.
template <typename T>
T wait_on_loop(const boost::asio::io_context::executor_type& loop,
               boost::asio::awaitable<T> operation, const std::string& what) {
  if (loop.running_in_this_thread()) {
    throw std::logic_error("BlockingNoteStore::" + what +
                           " was called on a thread that runs the event loop; it refuses to "
                           "block it (only this thread could run the operation it would wait "
                           "for). co_await the NoteStore instead.");
  }
  const BlockedThread blocked(what);  // shows in a deadlock report
  return boost::asio::co_spawn(loop, std::move(operation), boost::asio::use_future).get();
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
  services.legacy.log_view(id);  // a one-liner, left as it was
  co_return note_page(*note);
}

}  // namespace ch02
