// RIGHT: the bridge waits on a mutex and condition_variable, set by co_spawn's completion handler.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>

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
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  std::exception_ptr error;
  if constexpr (std::is_void_v<T>) {
    boost::asio::co_spawn(loop, std::move(operation), [&](const std::exception_ptr& e) {
      const std::lock_guard lock(mutex);
      error = e;
      done = true;
      done_cv.notify_one();
    });
    std::unique_lock lock(mutex);
    done_cv.wait(lock, [&] { return done; });
    if (error) std::rethrow_exception(error);
  } else {
    std::optional<T> value;
    boost::asio::co_spawn(loop, std::move(operation), [&](const std::exception_ptr& e, T v) {
      const std::lock_guard lock(mutex);
      error = e;
      if (!e) value.emplace(std::move(v));
      done = true;
      done_cv.notify_one();
    });
    std::unique_lock lock(mutex);
    done_cv.wait(lock, [&] { return done; });
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }
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
