// WRONG: lock() becomes a try_lock() loop that sleeps the thread; still held across co_await.
// expect: deadlock: 6 concurrent queries through a pool of 2 connections did not complete
// The second caller spins on the only thread, and the holder can never
// resume to unlock.
//
// "lock() blocks, so don't call it": the thread blocks just the same in
// sleep_for, and only the suspended holder could ever make try_lock succeed.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "connection_pool.hpp"

namespace ch07 {

struct ConnectionPool::State {
  std::mutex mutex;
  std::vector<std::unique_ptr<mockdb::Connection>> idle;
  std::size_t opened = 0;
  std::condition_variable returned;
};

ConnectionPool::ConnectionPool(const boost::asio::any_io_executor&, mockdb::DatabaseService& db,
                               std::size_t size)
    : db_(db), size_(size), state_(std::make_unique<State>()) {}

ConnectionPool::~ConnectionPool() = default;

boost::asio::awaitable<PooledConnection> ConnectionPool::acquire() {
  std::unique_lock lock(state_->mutex, std::defer_lock);
  while (!lock.try_lock()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  state_->returned.wait(lock, [this] { return !state_->idle.empty() || state_->opened < size_; });
  std::unique_ptr<mockdb::Connection> connection;
  if (!state_->idle.empty()) {
    connection = std::move(state_->idle.back());
    state_->idle.pop_back();
  } else {
    connection = co_await db_.connect();
    ++state_->opened;
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
