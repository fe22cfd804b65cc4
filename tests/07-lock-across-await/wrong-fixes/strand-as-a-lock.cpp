// WRONG: a strand used as a lock held across co_await connect(); it is not held there.
// expect: the pool opened [0-9]+ connections for 6 queries; expected it to open 2
// A strand only orders handlers: at co_await connect() the coroutine leaves
// it, and every caller arriving meanwhile sees room for one more connection.
//
// co_await asio::post(strand, use_awaitable) moves the coroutine into the
// strand for one handler's run: until its next suspension. The check "fewer
// than size are open" and the increment after the connect are in two
// different handlers, with other callers' handlers in between.
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <vector>

#include "connection_pool.hpp"
#include "workbook/timer.hpp"

namespace ch07 {

struct ConnectionPool::State {
  explicit State(const boost::asio::any_io_executor& executor)
      : strand(boost::asio::make_strand(executor)) {}
  boost::asio::strand<boost::asio::any_io_executor> strand;  // "guards" the members below
  std::vector<std::unique_ptr<mockdb::Connection>> idle;
  std::size_t opened = 0;
};

ConnectionPool::ConnectionPool(const boost::asio::any_io_executor& executor,
                               mockdb::DatabaseService& db, std::size_t size)
    : db_(db), size_(size), state_(std::make_unique<State>(executor)) {}

ConnectionPool::~ConnectionPool() = default;

boost::asio::awaitable<PooledConnection> ConnectionPool::acquire() {
  using namespace std::chrono_literals;
  namespace asio = boost::asio;
  co_await asio::post(state_->strand, asio::use_awaitable);  // "take the lock"
  for (;;) {
    if (!state_->idle.empty()) {
      auto connection = std::move(state_->idle.back());
      state_->idle.pop_back();
      co_return PooledConnection(*this, std::move(connection));
    }
    if (state_->opened < size_) {
      auto connection = co_await db_.connect();  // "still on the strand"
      ++state_->opened;
      co_return PooledConnection(*this, std::move(connection));
    }
    co_await workbook::sleep_for(1ms);
    co_await asio::post(state_->strand, asio::use_awaitable);
  }
}

void ConnectionPool::give_back(std::unique_ptr<mockdb::Connection> connection) noexcept {
  // Posting can fail only to allocate the handler, and a pool that lost a
  // connection could not keep its count right: end the program, as noexcept would.
  try {
    boost::asio::post(state_->strand, [state = state_.get(), c = std::move(connection)]() mutable {
      state->idle.push_back(std::move(c));
    });
  } catch (...) {
    std::terminate();
  }
}

boost::asio::awaitable<mockdb::Rows> run_query(ConnectionPool& pool, std::string sql,
                                               mockdb::Params params) {
  const PooledConnection connection = co_await pool.acquire();
  co_return co_await connection->query(std::move(sql), std::move(params));
}

}  // namespace ch07
