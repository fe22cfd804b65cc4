// WRONG: the old renderer runs on a thread_pool of 8: a thread blocked per request in flight.
// expect: Do not move the old renderer onto another thread
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
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
    throw std::logic_error("BlockingNoteStore::" + what + " called on a loop thread");
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

namespace {

// The old renderer, as a coroutine the pool can run (arguments, not captures).
boost::asio::awaitable<std::string> render_on_pool(Services& services, mockdb::Id id) {
  co_return render_note_page(services.legacy, id);
}

}  // namespace

boost::asio::awaitable<std::string> show_note(Services& services, mockdb::Id id) {
  static boost::asio::thread_pool pool(8);
  // co_spawn on the pool; use_awaitable resumes this request on the loop.
  co_return co_await boost::asio::co_spawn(pool.get_executor(), render_on_pool(services, id),
                                           boost::asio::use_awaitable);
}

}  // namespace ch02
