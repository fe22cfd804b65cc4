// WRONG: unlocks around connect, but waits for a free connection on the condition variable.
// expect: deadlock: 6 concurrent queries through a pool of 2 connections did not complete
// wait() blocks the only thread, so the connections can never come back.
//
// Hint 2 done, hint 3 skipped: the first two callers connect without holding
// the lock, and the third blocks the event-loop thread in wait(). The
// notify_one() that would wake it runs in give_back(), on that same thread.
#include <condition_variable>
#include <mutex>
#include <vector>

#include "connection_pool.hpp"

namespace ch07 {

struct ConnectionPool::State {
  std::mutex mutex;  // guards the members below
  std::vector<std::unique_ptr<mockdb::Connection>> idle;
  std::size_t opened = 0;
  std::condition_variable returned;
};

ConnectionPool::ConnectionPool(const boost::asio::any_io_executor&, mockdb::DatabaseService& db,
                               std::size_t size)
    : db_(db), size_(size), state_(std::make_unique<State>()) {}

ConnectionPool::~ConnectionPool() = default;

boost::asio::awaitable<PooledConnection> ConnectionPool::acquire() {
  std::unique_lock lock(state_->mutex);
  state_->returned.wait(lock, [this] { return !state_->idle.empty() || state_->opened < size_; });
  if (!state_->idle.empty()) {
    auto connection = std::move(state_->idle.back());
    state_->idle.pop_back();
    co_return PooledConnection(*this, std::move(connection));
  }
  ++state_->opened;  // counted before the suspension: no caller opens one too many
  lock.unlock();     // not held across co_await
  std::unique_ptr<mockdb::Connection> connection;
  try {
    connection = co_await db_.connect();
  } catch (...) {
    lock.lock();
    --state_->opened;
    state_->returned.notify_one();
    throw;
  }
  co_return PooledConnection(*this, std::move(connection));
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
