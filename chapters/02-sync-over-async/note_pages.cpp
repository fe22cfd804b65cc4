// Chapter 02, the pitfall: synchronous code called from a coroutine, over a
// bridge that waits for the event loop.
//
// BlockingNoteStore runs each store coroutine on the loop and blocks its
// caller on a std::future until the loop has run it: right for a thread that
// does not run the loop. show_note() is a coroutine on the loop, and it calls
// the old synchronous renderer, which calls the bridge. The loop's only
// thread then waits, in future::get(), for work that only it can do.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <string>

#include "note_store.hpp"

namespace ch02 {
namespace {

// Runs `operation` on `loop` and waits for its result on this thread.
template <typename T>
T wait_on_loop(const boost::asio::io_context::executor_type& loop,
               boost::asio::awaitable<T> operation, const std::string& what) {
  //! [bridge]
  const BlockedThread blocked(what);  // shows in a deadlock report
  return boost::asio::co_spawn(loop, std::move(operation), boost::asio::use_future).get();
  //! [bridge]
}

}  // namespace

std::optional<Note> BlockingNoteStore::find(mockdb::Id id) {
  return wait_on_loop(loop_, store_.find(id), "find(note " + std::to_string(id) + ")");
}

void BlockingNoteStore::log_view(mockdb::Id id) {
  wait_on_loop(loop_, store_.log_view(id), "log_view(note " + std::to_string(id) + ")");
}

boost::asio::awaitable<std::string> show_note(Services& services, mockdb::Id id) {
  //! [pitfall]
  co_return render_note_page(services.legacy, id);  // the old renderer: blocks in future::get()
  //! [pitfall]
}

}  // namespace ch02
