// WRONG: a failed connect gives its slot back twice (a scope guard and a catch block).
// expect: gave back a place that was never taken
// After a failure the pool could lend one more connection than it has slots.
//
// Belt and braces: the catch block releases the slot as hint 4 says, and a
// guard written earlier "in case anything throws" releases it as well. When
// the semaphore is already full the second token has nowhere to go, so the
// double release stays invisible unless the semaphore reports it.
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

namespace {
// Releases the slot unless the connection was handed out.
struct SlotGuard {
  AsyncSemaphore& slots;
  bool handed_out = false;
  ~SlotGuard() {
    if (!handed_out) slots.release();
  }
};
}  // namespace

boost::asio::awaitable<PooledConnection> ConnectionPool::acquire() {
  co_await state_->slots.acquire();
  SlotGuard guard{state_->slots};
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
      state_->slots.release();  // the slot was never used (and the guard releases it too)
      throw;
    }
  }
  guard.handed_out = true;
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
