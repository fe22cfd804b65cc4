// Chapter 07's provided building blocks: PooledConnection's release, an
// asynchronous semaphore on an Asio channel, the serialising reference pool,
// and sample data. The pitfall and the fix differ only in connection_pool.cpp.
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>

#include "connection_pool.hpp"

namespace ch07 {

PooledConnection::~PooledConnection() {
  if (connection_) pool_->give_back(std::move(connection_));
}

AsyncSemaphore::AsyncSemaphore(const boost::asio::any_io_executor& executor, std::size_t count)
    : tokens_(executor, count) {
  for (std::size_t i = 0; i < count; ++i) tokens_.try_send(boost::system::error_code{});
}

boost::asio::awaitable<void> AsyncSemaphore::acquire() {
  co_await tokens_.async_receive(boost::asio::use_awaitable);
}

void AsyncSemaphore::release() noexcept {
  // Never full: a token comes back only after it was taken out.
  tokens_.try_send(boost::system::error_code{});
}

SerialisedPool::SerialisedPool(const boost::asio::any_io_executor& executor,
                               mockdb::DatabaseService& db)
    : db_(db), lock_(executor, 1) {}

boost::asio::awaitable<mockdb::Rows> SerialisedPool::query(std::string sql, mockdb::Params params) {
  co_await lock_.acquire();  // suspends, never blocks: no deadlock...
  SemaphoreRelease unlock(lock_);
  if (!connection_) connection_ = co_await db_.connect();
  // ...but the lock is held across the query: the next caller waits for it.
  co_return co_await connection_->query(std::move(sql), std::move(params));
}

boost::asio::awaitable<void> add_notes(mockdb::DatabaseService& db, int count) {
  for (int i = 1; i <= count; ++i) {
    mockdb::Row note;
    note["n"] = i;
    note["title"] = "note " + std::to_string(i);
    co_await db.create("notes", std::move(note));
  }
}

}  // namespace ch07
