// WRONG: the bridge refuses only after co_spawn: the refused operation still runs on the loop.
// expect: and the store ran the refused operation anyway
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
  auto result = boost::asio::co_spawn(loop, std::move(operation), boost::asio::use_future);
  if (loop.running_in_this_thread()) {
    throw std::logic_error("BlockingNoteStore::" + what + " called on a loop thread");
  }
  const BlockedThread blocked(what);  // shows in a deadlock report
  return result.get();
}

}  // namespace

std::optional<Note> BlockingNoteStore::find(mockdb::Id id) {
  return wait_on_loop(loop_, store_.find(id), "find(note " + std::to_string(id) + ")");
}

void BlockingNoteStore::log_view(mockdb::Id id) {
  wait_on_loop(loop_, store_.log_view(id), "log_view(note " + std::to_string(id) + ")");
}

boost::asio::awaitable<std::string> show_note(Services& services, mockdb::Id id) {
  const std::optional<Note> note = co_await services.store.find(id);
  if (!note) co_return not_found_page(id);
  co_await services.store.log_view(id);
  co_return note_page(*note);
}

}  // namespace ch02
