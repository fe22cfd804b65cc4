// WRONG: unlocks around co_await connect(), but acts on a count that is stale by then.
// expect: the pool opened [0-9]+ connections for 6 queries; expected it to open 2
// The count is read after unlocking and raised only when the connect has
// completed, so every caller that arrives meanwhile opens a connection.
//
// The lock no longer spans the suspension, which cures the deadlock. But
// "fewer than size are open, so I may open one" is stale the moment the
// coroutine suspends: the count goes up only when the connect has finished,
// and all six callers see 0 before any connect finishes. Waiting for a
// connection to come back polls a timer instead of blocking the thread.
#include <mutex>
#include <vector>

#include "connection_pool.hpp"
#include "workbook/timer.hpp"

namespace ch07 {

struct ConnectionPool::State {
  std::mutex mutex;  // guards the idle list
  std::vector<std::unique_ptr<mockdb::Connection>> idle;
  std::size_t opened = 0;
};

ConnectionPool::ConnectionPool(const boost::asio::any_io_executor&, mockdb::DatabaseService& db,
                               std::size_t size)
    : db_(db), size_(size), state_(std::make_unique<State>()) {}

ConnectionPool::~ConnectionPool() = default;

boost::asio::awaitable<PooledConnection> ConnectionPool::acquire() {
  using namespace std::chrono_literals;
  for (;;) {
    std::unique_lock lock(state_->mutex);
    if (!state_->idle.empty()) {
      auto connection = std::move(state_->idle.back());
      state_->idle.pop_back();
      co_return PooledConnection(*this, std::move(connection));
    }
    lock.unlock();  // never hold the mutex across co_await
    if (state_->opened < size_) {
      auto connection = co_await db_.connect();
      ++state_->opened;  // counted once the connection exists
      co_return PooledConnection(*this, std::move(connection));
    }
    co_await workbook::sleep_for(1ms);  // all in use: look again shortly
  }
}

void ConnectionPool::give_back(std::unique_ptr<mockdb::Connection> connection) noexcept {
  std::lock_guard lock(state_->mutex);
  state_->idle.push_back(std::move(connection));
}

boost::asio::awaitable<mockdb::Rows> run_query(ConnectionPool& pool, std::string sql,
                                               mockdb::Params params) {
  const PooledConnection connection = co_await pool.acquire();
  co_return co_await connection->query(std::move(sql), std::move(params));
}

}  // namespace ch07
