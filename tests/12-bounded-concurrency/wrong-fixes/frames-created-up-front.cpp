// WRONG: the workers bound the reads in flight, but every check's frame is created up front.
// expect: check_order\(\) frames alive at once, for 16 in flight
//
// Calling check_order() allocates its coroutine frame and runs none of it,
// so a vector of ten thousand not-yet-started checks holds ten thousand
// frames (and everything they hold) while 16 run. The reads are bounded; the
// memory is not. Create each check when a worker is ready to await it.
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <exception>
#include <memory>
#include <stdexcept>
#include <utility>

#include "order_checker.hpp"

namespace ch12 {

namespace asio = boost::asio;

namespace {

// One worker: awaits the next check not yet taken until none is left.
asio::awaitable<void> check_in_turn(std::vector<asio::awaitable<OrderResult>>& checks,
                                    std::size_t& next, const OnResult& on_result) {
  while (next < checks.size()) {
    asio::awaitable<OrderResult>& check = checks[next++];
    on_result(co_await std::move(check));
  }
}

void require_a_limit(std::size_t limit) {
  if (limit == 0) throw std::invalid_argument("a limit of 0 checks in flight would check nothing");
}

// A slot of the reorder window: the result of one check, once it is in.
using Slot = asio::experimental::channel<void(boost::system::error_code, OrderResult)>;

// Checks `id` and puts the result in its slot (which has room for exactly one).
asio::awaitable<void> check_into(mockdb::DatabaseService& db, mockdb::Id id,
                                 std::shared_ptr<Slot> slot) {
  OrderResult result = co_await check_order(db, id);
  slot->try_send(boost::system::error_code{}, std::move(result));
}

}  // namespace

asio::awaitable<void> check_orders(mockdb::DatabaseService& db, std::vector<mockdb::Id> ids,
                                   std::size_t limit, OnResult on_result) {
  require_a_limit(limit);
  if (ids.empty()) co_return;  // a group of none never completes
  //! [fix]
  const auto ex = co_await asio::this_coro::executor;
  // Every check created up front (not started: an awaitable runs when awaited).
  std::vector<asio::awaitable<OrderResult>> checks;
  checks.reserve(ids.size());
  for (const mockdb::Id id : ids) checks.push_back(check_order(db, id));
  std::size_t next = 0;  // the first check no worker has taken yet
  using Worker =
      decltype(asio::co_spawn(ex, check_in_turn(checks, next, on_result), asio::deferred));
  std::vector<Worker> workers;
  const std::size_t count = std::min(limit, ids.size());  // no idle workers
  for (std::size_t w = 0; w < count; ++w) {
    workers.push_back(asio::co_spawn(ex, check_in_turn(checks, next, on_result), asio::deferred));
  }
  // Starts the workers, and resumes when the last one has run out of checks.
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(workers))
                             .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  //! [fix]
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);  // not a database error: a bug
  }
}

asio::awaitable<void> check_orders_in_order(mockdb::DatabaseService& db,
                                            std::vector<mockdb::Id> ids, std::size_t limit,
                                            OnResult on_result) {
  require_a_limit(limit);
  if (ids.empty()) co_return;
  //! [fix_in_order]
  const auto ex = co_await asio::this_coro::executor;
  std::deque<std::shared_ptr<Slot>> window;  // the checks not yet handed on, oldest first
  for (const mockdb::Id id : ids) {
    if (window.size() == limit) {  // full: hand on the oldest before starting another
      OrderResult oldest = co_await window.front()->async_receive(asio::use_awaitable);
      window.pop_front();
      on_result(std::move(oldest));
    }
    window.push_back(std::make_shared<Slot>(ex, 1));
    asio::co_spawn(ex, check_into(db, id, window.back()), asio::detached);
  }
  while (!window.empty()) {  // the last checks, still in order
    OrderResult oldest = co_await window.front()->async_receive(asio::use_awaitable);
    window.pop_front();
    on_result(std::move(oldest));
  }
  //! [fix_in_order]
}

}  // namespace ch12
