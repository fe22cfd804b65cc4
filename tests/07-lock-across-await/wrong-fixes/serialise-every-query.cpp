// WRONG: an async lock held from acquire() until give_back(): one query at a time.
// expect: at most 1 of 6 queries ran at once through a pool of 2
// Nothing deadlocks and every result is right, but whatever the pool's size
// only one connection is ever lent.
//
// The seed guide's "BAD" example made legal: waiting for the lock suspends
// instead of blocking, so every result is right, and the pool is a pool of
// one. Correct but serial is a finding against a pool whose whole point is
// to run `size` queries together.
#include <mutex>
#include <vector>

#include "connection_pool.hpp"

namespace ch07 {

struct ConnectionPool::State {
  explicit State(const boost::asio::any_io_executor& executor) : lock(executor, 1) {}
  AsyncSemaphore lock;  // held by whoever has a connection
  std::vector<std::unique_ptr<mockdb::Connection>> idle;
};

ConnectionPool::ConnectionPool(const boost::asio::any_io_executor& executor,
                               mockdb::DatabaseService& db, std::size_t size)
    : db_(db), size_(size), state_(std::make_unique<State>(executor)) {}

ConnectionPool::~ConnectionPool() = default;

boost::asio::awaitable<PooledConnection> ConnectionPool::acquire() {
  co_await state_->lock.acquire();  // suspends, never blocks the thread
  std::unique_ptr<mockdb::Connection> connection;
  if (!state_->idle.empty()) {
    connection = std::move(state_->idle.back());
    state_->idle.pop_back();
  } else {
    try {
      connection = co_await db_.connect();
    } catch (...) {
      state_->lock.release();
      throw;
    }
  }
  co_return PooledConnection(*this, std::move(connection));  // still holding the lock
}

void ConnectionPool::give_back(std::unique_ptr<mockdb::Connection> connection) noexcept {
  state_->idle.push_back(std::move(connection));
  state_->lock.release();
}

boost::asio::awaitable<mockdb::Rows> run_query(ConnectionPool& pool, std::string sql,
                                               mockdb::Params params) {
  const PooledConnection connection = co_await pool.acquire();
  co_return co_await connection->query(std::move(sql), std::move(params));
}

}  // namespace ch07
