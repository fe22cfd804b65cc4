// WRONG: a failed view log is caught and the page returned anyway: the error reaches nobody.
// expect: logging the view of note 3 failed \(the database is unavailable\), and show_note\(\)
// returned a page
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

boost::asio::awaitable<std::string> show_note(Services& services, mockdb::Id id) {
  const std::optional<Note> note = co_await services.store.find(id);
  if (!note) co_return not_found_page(id);
  try {
    co_await services.store.log_view(id);
  } catch (const std::exception&) {
    // a view counter is not worth failing the page over
  }
  co_return note_page(*note);
}

}  // namespace ch02
