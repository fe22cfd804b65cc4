// WRONG: keeps the futures and polls them every millisecond: no freeze, but each page is late.
// expect: does it poll, or sleep, instead of awaiting them\?
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>

#include "note_store.hpp"
#include "workbook/timer.hpp"

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
  const auto ex = co_await boost::asio::this_coro::executor;
  auto found = boost::asio::co_spawn(ex, services.store.find(id), boost::asio::use_future);
  while (found.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    co_await workbook::sleep_for(std::chrono::milliseconds(1));  // let the loop run meanwhile
  }
  const std::optional<Note> note = found.get();
  if (!note) co_return not_found_page(id);
  auto logged = boost::asio::co_spawn(ex, services.store.log_view(id), boost::asio::use_future);
  while (logged.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    co_await workbook::sleep_for(std::chrono::milliseconds(1));
  }
  logged.get();
  co_return note_page(*note);
}

}  // namespace ch02
