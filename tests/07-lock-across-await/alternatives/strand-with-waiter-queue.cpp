// RIGHT: state touched only on a strand, by handlers that never suspend, plus a waiter queue.
// A caller that finds every connection lent out queues a one-place channel on
// which give_back() hands it the next connection; nothing blocks, nothing is
// held across co_await, and at most `size` connections exist.
//
// Another design than the fix: no mutex and no semaphore. The strand orders
// the decisions ("take an idle one", "open one", "wait"), each a coroutine
// spawned onto the strand that runs to its end without suspending, so no
// other decision can come between its check and its act. A returned
// connection goes to the longest-waiting caller (first come, first served),
// not to whoever looks next. A failed connect hands its place to the next
// waiter as an empty ticket, which allows opening one.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <exception>
#include <vector>

#include "connection_pool.hpp"

namespace ch07 {

namespace asio = boost::asio;
using Ticket = std::unique_ptr<mockdb::Connection>;  // empty: you may open one
using Handoff = asio::experimental::concurrent_channel<void(boost::system::error_code, Ticket)>;

namespace {
// Shared with the handlers give_back() posts, which may run after the
// connection's PooledConnection is gone.
struct Shared {
  explicit Shared(const asio::any_io_executor& executor) : strand(asio::make_strand(executor)) {}
  asio::strand<asio::any_io_executor> strand;  // the members below are touched only on it
  std::vector<Ticket> idle;
  std::size_t opened = 0;
  std::deque<std::shared_ptr<Handoff>> waiters;  // oldest first

  // On the strand: the next waiter gets `ticket`; with nobody waiting, a
  // connection goes idle and an empty ticket makes room to open one.
  void hand_over(Ticket ticket) {
    if (!waiters.empty()) {
      auto waiter = std::move(waiters.front());
      waiters.pop_front();
      waiter->try_send(boost::system::error_code{}, std::move(ticket));  // one place, empty
    } else if (ticket) {
      idle.push_back(std::move(ticket));
    } else {
      --opened;
    }
  }
};

struct Decision {
  Ticket connection;                // an idle connection to reuse
  bool open = false;                // or: open a new one
  std::shared_ptr<Handoff> waiter;  // or: wait to be handed one
};
}  // namespace

struct ConnectionPool::State {
  std::shared_ptr<Shared> shared;
};

ConnectionPool::ConnectionPool(const asio::any_io_executor& executor, mockdb::DatabaseService& db,
                               std::size_t size)
    : db_(db),
      size_(size),
      state_(std::make_unique<State>(State{std::make_shared<Shared>(executor)})) {}

ConnectionPool::~ConnectionPool() = default;

asio::awaitable<PooledConnection> ConnectionPool::acquire() {
  const auto caller = co_await asio::this_coro::executor;
  auto shared = state_->shared;
  const std::size_t size = size_;
  // Check and act in one strand handler: this coroutine never suspends.
  auto decide = [shared, size, caller]() -> asio::awaitable<Decision> {
    Decision d;
    if (!shared->idle.empty()) {
      d.connection = std::move(shared->idle.back());
      shared->idle.pop_back();
    } else if (shared->opened < size) {
      ++shared->opened;
      d.open = true;
    } else {
      d.waiter = std::make_shared<Handoff>(caller, 1);
      shared->waiters.push_back(d.waiter);
    }
    co_return d;
  };
  // (A named lambda: GCC 12 destroys a lambda temporary with captures twice
  // when it is built inside a co_await expression.)
  Decision decision =
      co_await asio::co_spawn(shared->strand, std::move(decide), asio::use_awaitable);
  if (decision.waiter) {
    decision.connection = co_await decision.waiter->async_receive(asio::use_awaitable);
    decision.open = !decision.connection;
  }
  if (decision.open) {
    try {
      decision.connection = co_await db_.connect();
    } catch (...) {
      asio::post(shared->strand, [shared] { shared->hand_over(Ticket{}); });
      throw;
    }
  }
  co_return PooledConnection(*this, std::move(decision.connection));
}

void ConnectionPool::give_back(std::unique_ptr<mockdb::Connection> connection) noexcept {
  // Posting can fail only to allocate the handler, and a pool that lost a
  // connection could not keep its count right: end the program, as noexcept would.
  try {
    asio::post(state_->shared->strand,
               [shared = state_->shared, c = std::move(connection)]() mutable {
                 shared->hand_over(std::move(c));
               });
  } catch (...) {
    std::terminate();
  }
}

asio::awaitable<mockdb::Rows> run_query(ConnectionPool& pool, std::string sql,
                                        mockdb::Params params) {
  const PooledConnection connection = co_await pool.acquire();
  co_return co_await connection->query(std::move(sql), std::move(params));
}

}  // namespace ch07
