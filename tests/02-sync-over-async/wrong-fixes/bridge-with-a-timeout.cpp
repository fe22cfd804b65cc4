// WRONG: the bridge gives up after 40 ms instead of freezing; the loop thread is still blocked.
// expect: store calls went through it
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
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
  const BlockedThread blocked(what);  // shows in a deadlock report
  auto result = boost::asio::co_spawn(loop, std::move(operation), boost::asio::use_future);
  // Never wait for good: give up after 40 ms rather than freeze.
  if (result.wait_for(std::chrono::milliseconds(40)) != std::future_status::ready) {
    throw std::runtime_error("BlockingNoteStore::" + what + " timed out after 40 ms");
  }
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
  co_return render_note_page(services.legacy, id);
}

}  // namespace ch02
