// WRONG: runs the old renderer on a std::async thread, but the loop thread waits for that thread.
// expect: deadlock: 8 concurrent requests for note pages did not complete
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
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
  // The renderer blocks, so give it a thread of its own.
  auto page = std::async(std::launch::async,
                         [&services, id] { return render_note_page(services.legacy, id); });
  co_return page.get();
}

}  // namespace ch02
