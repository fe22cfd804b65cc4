// Chapter 07's provided building blocks: PooledConnection's release, an
// asynchronous semaphore on an Asio channel (which reports a place given back
// twice), the serialising reference pool, and sample data. The pitfall and the fix differ only in
// connection_pool.cpp.
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/channel_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <cstdio>
#include <exception>
#include <thread>

#include "connection_pool.hpp"

namespace ch07 {

PooledConnection::~PooledConnection() {
  if (connection_) pool_->give_back(std::move(connection_));
}

namespace {
// Process-wide, like the tests that read them: a test cannot reach the
// semaphore inside a learner's pool.
std::atomic<std::size_t> over_released{0};
std::atomic<std::chrono::microseconds::rep> wakeup_pause_us{0};
}  // namespace

AsyncSemaphore::AsyncSemaphore(const boost::asio::any_io_executor& executor, std::size_t count)
    : tokens_(executor, count), count_(count) {
  for (std::size_t i = 0; i < count; ++i) tokens_.try_send(boost::system::error_code{});
}

boost::asio::awaitable<void> AsyncSemaphore::acquire() {
  ++waiting_;
  try {
    co_await tokens_.async_receive(boost::asio::use_awaitable);
  } catch (const boost::system::system_error& e) {
    --waiting_;
    // A cancelled receive completes with channel_cancelled
    // (experimental/channel_traits.hpp, invoke_receive_cancelled); the caller
    // hears operation_aborted, as from any other cancelled operation.
    if (e.code() == boost::asio::experimental::error::channel_cancelled) {
      throw boost::system::system_error(boost::asio::error::operation_aborted);
    }
    throw;
  } catch (...) {
    --waiting_;
    throw;
  }
  --waiting_;
  // Counted when the caller holds the place, before it can release it.
  ++taken_;
}

void AsyncSemaphore::release() noexcept {
  // Every token is in the channel, on its way to a woken acquire(), or taken
  // (counted in taken_). A legitimate release comes from a caller counted in
  // taken_, so taken_ == 0 means this place was never taken: the channel has
  // all `count_` tokens, or will have once the woken callers are counted.
  // (A full channel used to drop the extra token silently, hiding the bug.)
  std::size_t taken = taken_.load();
  do {
    if (taken == 0) {
      ++over_released;
      if (!reported_.exchange(true)) {
        std::fprintf(stderr,
                     "AsyncSemaphore::release(): no place of this semaphore (of %zu) is taken, so "
                     "this release gives back a place that was never taken (a double release?). "
                     "It is ignored; with a place to spare it would have let one caller too many "
                     "in. Give each place back exactly once.\n",
                     count_);
      }
      return;
    }
  } while (!taken_.compare_exchange_weak(taken, taken - 1));
  const bool wakes_a_waiter = waiting_.load() > 0;
  // A token was taken out, so the channel has room for it, and try_send
  // succeeds, except after a waiting acquire() was cancelled: Boost 1.81's
  // buffered channel then refuses every try_send, as if it had no buffer
  // (experimental/detail/impl/channel_service.hpp: cancel_by_key sets the
  // send state to block when its last waiter goes). An async_send still gets
  // through: it waits in the channel until the next acquire() receives it, so
  // no place is lost.
  if (!tokens_.try_send(boost::system::error_code{})) {
    try {
      tokens_.async_send(boost::system::error_code{}, boost::asio::detached);
    } catch (...) {
      // It can fail only to allocate, and a semaphore that lost a place could
      // not keep its count right: end the program, as noexcept would.
      std::terminate();
    }
  }
  const auto pause = wakeup_pause_us.load();
  if (wakes_a_waiter && pause > 0) std::this_thread::sleep_for(std::chrono::microseconds(pause));
}

std::size_t AsyncSemaphore::over_releases() noexcept { return over_released.load(); }

void AsyncSemaphore::pause_after_wakeup(std::chrono::microseconds pause) noexcept {
  wakeup_pause_us.store(pause.count());
}

SerialisedPool::SerialisedPool(const boost::asio::any_io_executor& executor,
                               mockdb::DatabaseService& db)
    : db_(db), lock_(executor, 1) {}

boost::asio::awaitable<mockdb::Rows> SerialisedPool::query(std::string sql, mockdb::Params params) {
  co_await lock_.acquire();  // suspends, never blocks: no deadlock...
  SemaphoreRelease unlock(lock_);
  if (!connection_) connection_ = co_await db_.connect();
  // ...but the lock is held across the query: the next caller waits for it.
  co_return co_await connection_->query(std::move(sql), std::move(params));
}

boost::asio::awaitable<void> add_notes(mockdb::DatabaseService& db, int count) {
  for (int i = 1; i <= count; ++i) {
    mockdb::Row note;
    note["n"] = i;
    note["title"] = "note " + std::to_string(i);
    co_await db.create("notes", std::move(note));
  }
}

}  // namespace ch07
