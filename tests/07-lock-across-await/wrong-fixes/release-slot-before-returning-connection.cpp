// WRONG: give_back() frees the slot before the connection is back in the idle list.
// expect: connections were open at once on [0-9]+ loop threads
// On a multi-threaded io_context the woken caller finds no idle connection
// and opens one more than the pool's size.
//
// On one thread this is harmless: the channel posts the woken caller, which
// runs only after give_back() has returned. On several threads it runs at
// once, between the release and the push.
#include <mutex>
#include <vector>

#include "connection_pool.hpp"

namespace ch07 {

struct ConnectionPool::State {
  State(const boost::asio::any_io_executor& executor, std::size_t size) : slots(executor, size) {}
  std::mutex mutex;
  std::vector<std::unique_ptr<mockdb::Connection>> idle;
  AsyncSemaphore slots;
};

ConnectionPool::ConnectionPool(const boost::asio::any_io_executor& executor,
                               mockdb::DatabaseService& db, std::size_t size)
    : db_(db), size_(size), state_(std::make_unique<State>(executor, size)) {}

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
  state_->slots.release();  // the slot is free first...
  std::lock_guard lock(state_->mutex);
  state_->idle.push_back(std::move(connection));  // ...the connection comes back after
}

boost::asio::awaitable<mockdb::Rows> run_query(ConnectionPool& pool, std::string sql,
                                               mockdb::Params params) {
  const PooledConnection connection = co_await pool.acquire();
  co_return co_await connection->query(std::move(sql), std::move(params));
}

}  // namespace ch07
