// Chapter 07, the pitfall: a std::mutex held across co_await.
//
// This pool is ported from threaded code, where it is correct: one mutex
// guards the idle list, a condition variable waits for a connection to come
// back, and the lock is held while a new connection is opened. In a coroutine
// the lock stays held while the coroutine is suspended. The next coroutine on
// the same thread then calls lock() on a mutex that only a suspended
// coroutine can unlock, and that coroutine can only resume on this thread.
#include "connection_pool.hpp"

#include <condition_variable>
#include <mutex>
#include <vector>

namespace ch07 {

struct ConnectionPool::State {
  std::mutex mutex;  // guards the two members below
  std::vector<std::unique_ptr<mockdb::Connection>> idle;
  std::size_t opened = 0;
  std::condition_variable returned;  // signalled by give_back()
};

ConnectionPool::ConnectionPool(const boost::asio::any_io_executor&, mockdb::DatabaseService& db,
                               std::size_t size)
    : db_(db), size_(size), state_(std::make_unique<State>()) {
  state_->idle.reserve(size);
}

ConnectionPool::~ConnectionPool() = default;

boost::asio::awaitable<PooledConnection> ConnectionPool::acquire() {
  //! [pitfall]
  std::unique_lock lock(state_->mutex);  // held until acquire() returns
  state_->returned.wait(lock, [this] { return !state_->idle.empty() || state_->opened < size_; });
  std::unique_ptr<mockdb::Connection> connection;
  if (!state_->idle.empty()) {
    connection = std::move(state_->idle.back());
    state_->idle.pop_back();
  } else {
    connection = co_await db_.connect();  // suspends while still holding the lock
    ++state_->opened;
  }
  co_return PooledConnection(*this, std::move(connection));
  //! [pitfall]
}

void ConnectionPool::give_back(std::unique_ptr<mockdb::Connection> connection) noexcept {
  std::lock_guard lock(state_->mutex);
  state_->idle.push_back(std::move(connection));
  state_->returned.notify_one();
}

boost::asio::awaitable<mockdb::Rows> run_query(ConnectionPool& pool, std::string sql,
                                               mockdb::Params params) {
  const PooledConnection connection = co_await pool.acquire();
  co_return co_await connection->query(std::move(sql), std::move(params));
}

}  // namespace ch07
