// WRONG: the slots are a semaphore of 2, whatever size the pool is given.
// expect: at most 2 of [0-9]+ queries ran at once through a pool of 3
// A pool of 3 runs 2 queries at once, and a pool of 1 opens 2 connections.
//
// The fix with one number copied from the test: the semaphore's count is the
// 2 of the example instead of the pool's own size. Passes every test that
// only ever builds a pool of 2.
#include <mutex>
#include <vector>

#include "connection_pool.hpp"

namespace ch07 {

struct ConnectionPool::State {
  explicit State(const boost::asio::any_io_executor& executor) : slots(executor, 2) {}
  std::mutex mutex;
  std::vector<std::unique_ptr<mockdb::Connection>> idle;
  AsyncSemaphore slots;
};

ConnectionPool::ConnectionPool(const boost::asio::any_io_executor& executor,
                               mockdb::DatabaseService& db, std::size_t size)
    : db_(db), size_(size), state_(std::make_unique<State>(executor)) {}

ConnectionPool::~ConnectionPool() = default;

boost::asio::awaitable<PooledConnection> ConnectionPool::acquire() {
  co_await state_->slots.acquire();
  std::unique_ptr<mockdb::Connection> connection;
  {
    std::lock_guard lock(state_->mutex);
    if (!state_->idle.empty()) {
      connection = std::move(state_->idle.back());
      state_->idle.pop_back();
    }
  }
  if (!connection) {
    try {
      connection = co_await db_.connect();
    } catch (...) {
      state_->slots.release();
      throw;
    }
  }
  co_return PooledConnection(*this, std::move(connection));
}

void ConnectionPool::give_back(std::unique_ptr<mockdb::Connection> connection) noexcept {
  {
    std::lock_guard lock(state_->mutex);
    state_->idle.push_back(std::move(connection));
  }
  state_->slots.release();
}

boost::asio::awaitable<mockdb::Rows> run_query(ConnectionPool& pool, std::string sql,
                                               mockdb::Params params) {
  const PooledConnection connection = co_await pool.acquire();
  co_return co_await connection->query(std::move(sql), std::move(params));
}

}  // namespace ch07
