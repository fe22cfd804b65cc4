// RIGHT: an async twin of the renderer, co_spawned and awaited with as_tuple; errors rethrown.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <exception>
#include <stdexcept>
#include <string>

#include "note_store.hpp"

namespace ch02 {
namespace {

// Runs `operation` on `loop` and waits for its result on this thread.
template <typename T>
T wait_on_loop(const boost::asio::io_context::executor_type& loop,
               boost::asio::awaitable<T> operation, const std::string& what) {
  if (loop.context().get_executor().running_in_this_thread()) {
    throw std::logic_error("BlockingNoteStore::" + what +
                           " would block the event loop's own thread; co_await the NoteStore");
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
boost::asio::awaitable<std::string> render_note_page_async(NoteStore& store, mockdb::Id id) {
  const std::optional<Note> note = co_await store.find(id);
  if (!note) co_return not_found_page(id);
  co_await store.log_view(id);
  co_return note_page(*note);
}
}  // namespace

boost::asio::awaitable<std::string> show_note(Services& services, mockdb::Id id) {
  const auto executor = co_await boost::asio::this_coro::executor;
  auto [error, page] =
      co_await boost::asio::co_spawn(executor, render_note_page_async(services.store, id),
                                     boost::asio::as_tuple(boost::asio::use_awaitable));
  if (error) std::rethrow_exception(error);
  co_return page;
}

}  // namespace ch02
