// Chapter 07, the fix: no lock is held across co_await.
//
// The std::mutex now guards only what it must, the idle list, and is released
// before the coroutine can suspend. Waiting for a free connection is no longer
// a condition variable (which would block the thread) but an asynchronous
// semaphore: a channel holding one token per free slot. A coroutine with no
// token suspends in async_receive, and the event loop runs the others.
#include "connection_pool.hpp"

#include <mutex>
#include <vector>

namespace ch07 {

struct ConnectionPool::State {
  State(const boost::asio::any_io_executor& executor, std::size_t size) : slots(executor, size) {}
  std::mutex mutex;  // guards the idle list
  std::vector<std::unique_ptr<mockdb::Connection>> idle;
  AsyncSemaphore slots;  // one token per connection not lent out
};

ConnectionPool::ConnectionPool(const boost::asio::any_io_executor& executor,
                               mockdb::DatabaseService& db, std::size_t size)
    : db_(db), size_(size), state_(std::make_unique<State>(executor, size)) {
  state_->idle.reserve(size);
}

ConnectionPool::~ConnectionPool() = default;

boost::asio::awaitable<PooledConnection> ConnectionPool::acquire() {
  //! [fix]
  co_await state_->slots.acquire();  // no slot free: suspends, the loop runs on
  std::unique_ptr<mockdb::Connection> connection;
  {
    std::lock_guard lock(state_->mutex);  // held only to take an idle connection
    if (!state_->idle.empty()) {
      connection = std::move(state_->idle.back());
      state_->idle.pop_back();
    }
  }  // released here, before any co_await
  if (!connection) {
    try {
      connection = co_await db_.connect();  // suspends holding no lock
    } catch (...) {
      state_->slots.release();  // the slot was never used
      throw;
    }
  }
  co_return PooledConnection(*this, std::move(connection));
  //! [fix]
}

void ConnectionPool::give_back(std::unique_ptr<mockdb::Connection> connection) noexcept {
  {
    std::lock_guard lock(state_->mutex);
    state_->idle.push_back(std::move(connection));
  }
  // Only now free the slot: on several loop threads the caller it wakes may
  // run at once, and must find this connection in the idle list.
  state_->slots.release();
}

boost::asio::awaitable<mockdb::Rows> run_query(ConnectionPool& pool, std::string sql,
                                               mockdb::Params params) {
  const PooledConnection connection = co_await pool.acquire();
  co_return co_await connection->query(std::move(sql), std::move(params));
}

}  // namespace ch07
