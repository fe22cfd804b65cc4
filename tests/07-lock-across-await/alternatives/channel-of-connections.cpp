// RIGHT: one channel of `size` tickets (a connection, or leave to open one) is the pool.
// A caller holds a ticket exactly as long as it holds a connection, so at
// most `size` exist; nobody blocks the thread, and there is no lock to hold
// across co_await.
//
// Another design than the fix's semaphore plus idle list: the channel is both
// the count and the list. A caller suspends in async_receive while every
// ticket is out; give_back() sends the connection back as a ticket, which
// wakes the longest-waiting caller; a failed connect sends its empty ticket
// back. concurrent_channel does its own locking, so it is safe on several
// loop threads too.
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>

#include "connection_pool.hpp"

namespace ch07 {

using Ticket = std::unique_ptr<mockdb::Connection>;  // empty: you may open one

struct ConnectionPool::State {
  State(const boost::asio::any_io_executor& executor, std::size_t size) : tickets(executor, size) {
    for (std::size_t i = 0; i < size; ++i) tickets.try_send(boost::system::error_code{}, Ticket{});
  }
  boost::asio::experimental::concurrent_channel<void(boost::system::error_code, Ticket)> tickets;
};

ConnectionPool::ConnectionPool(const boost::asio::any_io_executor& executor,
                               mockdb::DatabaseService& db, std::size_t size)
    : db_(db), size_(size), state_(std::make_unique<State>(executor, size)) {}

ConnectionPool::~ConnectionPool() = default;

boost::asio::awaitable<PooledConnection> ConnectionPool::acquire() {
  auto& tickets = state_->tickets;
  Ticket connection = co_await tickets.async_receive(boost::asio::use_awaitable);
  // The channel is first in, first out: after one caller has come and gone it
  // holds [empty, connection]. Look past the empty tickets for an open
  // connection (try_receive never suspends), so that one caller at a time
  // reuses one connection instead of opening a second; then send the empty
  // tickets taken on the way back.
  std::size_t spare = 0;
  while (!connection) {
    Ticket next;
    const bool got =
        tickets.try_receive([&next](boost::system::error_code, Ticket t) { next = std::move(t); });
    if (!got) break;
    ++spare;  // an empty ticket: either this one, or ours if this is a connection
    connection = std::move(next);
  }
  for (; spare > 0; --spare) tickets.try_send(boost::system::error_code{}, Ticket{});
  if (!connection) {
    // Only empty tickets were left: ours allows opening a connection.
    try {
      connection = co_await db_.connect();
    } catch (...) {
      tickets.try_send(boost::system::error_code{}, Ticket{});  // the ticket goes back
      throw;
    }
  }
  co_return PooledConnection(*this, std::move(connection));
}

void ConnectionPool::give_back(std::unique_ptr<mockdb::Connection> connection) noexcept {
  // Never full: this ticket was taken out by acquire(). Yet Boost 1.81's
  // buffered channel refuses every try_send once its last waiting receive was
  // cancelled (experimental/detail/impl/channel_service.hpp, cancel_by_key),
  // so a refused ticket goes by async_send, which waits in the channel for the
  // next acquire(): no ticket is lost. That can fail only to allocate, and a
  // pool that lost a ticket could not keep its count: end the program.
  if (state_->tickets.try_send(boost::system::error_code{}, std::move(connection))) return;
  try {
    // A refused try_send moved nothing: it forwards its arguments and moves
    // them only into a message it accepts (channel_service.hpp, try_send).
    // NOLINTNEXTLINE(bugprone-use-after-move)
    state_->tickets.async_send(boost::system::error_code{}, std::move(connection),
                               boost::asio::detached);
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
