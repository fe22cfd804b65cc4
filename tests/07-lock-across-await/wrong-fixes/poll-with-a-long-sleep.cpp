// WRONG: a caller with no free connection sleeps 20 ms and looks again, instead of being woken.
// expect: slower than any correct pool
// Callers wait up to a whole sleep longer than they must.
//
// A sleep that "waits long enough": no lock is held across co_await and the
// count is right, so no connection too many is opened, but nothing tells a
// waiting caller that a connection came back: it finds out at its next look.
#include <mutex>
#include <vector>

#include "connection_pool.hpp"
#include "workbook/timer.hpp"

namespace ch07 {

struct ConnectionPool::State {
  std::mutex mutex;  // guards the members below
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
    bool may_open = false;
    {
      std::lock_guard lock(state_->mutex);
      if (!state_->idle.empty()) {
        auto connection = std::move(state_->idle.back());
        state_->idle.pop_back();
        co_return PooledConnection(*this, std::move(connection));
      }
      if (state_->opened < size_) {
        ++state_->opened;  // counted before the suspension
        may_open = true;
      }
    }
    if (may_open) {
      try {
        co_return PooledConnection(*this, co_await db_.connect());
      } catch (...) {
        std::lock_guard lock(state_->mutex);
        --state_->opened;
        throw;
      }
    }
    co_await workbook::sleep_for(20ms);  // long enough for a query to finish
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
