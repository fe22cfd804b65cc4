// RIGHT: a feeder puts the ids in a channel; `limit` workers take them out until "no more".
//
// "K workers pulling from a shared queue", with the queue made explicit: the
// same shape works when the ids arrive over time (a stream) rather than in a
// vector. The channel's capacity keeps an id ready for each worker, so a
// worker starts its next check the instant its last one ends. A "no more"
// message per worker, not close(), ends them (see feed()).
// check_orders_in_order() is the fix's window.
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
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

// The shared queue: ids on their way from the feeder to the workers.
using IdQueue = asio::experimental::channel<void(boost::system::error_code, mockdb::Id)>;

// Puts every id in the queue (waiting while it is full), then one "no more"
// (the error eof) per worker. Not close(): in Boost 1.81 a closed channel
// fails every receive at once, even with ids still in its buffer
// (boost/asio/experimental/detail/impl/channel_service.hpp: close() sets
// receive_state_ to closed), so the last ids would never be checked.
asio::awaitable<void> feed(IdQueue& queue, const std::vector<mockdb::Id>& ids,
                           std::size_t workers) {
  for (const mockdb::Id id : ids) {
    co_await queue.async_send(boost::system::error_code{}, id, asio::use_awaitable);
  }
  for (std::size_t w = 0; w < workers; ++w) {
    co_await queue.async_send(asio::error::eof, mockdb::Id{0}, asio::use_awaitable);
  }
}

// One worker: takes ids from the queue until it says "no more".
asio::awaitable<void> work_off(mockdb::DatabaseService& db, IdQueue& queue,
                               const OnResult& on_result) {
  for (;;) {
    auto [error, id] = co_await queue.async_receive(asio::as_tuple(asio::use_awaitable));
    if (error) co_return;  // "no more"
    on_result(co_await check_order(db, id));
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
  IdQueue queue(ex, limit);  // ids waiting for a worker
  const std::size_t workers = std::min(limit, ids.size());
  using Task = decltype(asio::co_spawn(ex, feed(queue, ids, workers), asio::deferred));
  std::vector<Task> tasks;
  tasks.push_back(asio::co_spawn(ex, feed(queue, ids, workers), asio::deferred));
  for (std::size_t w = 0; w < workers; ++w) {
    tasks.push_back(asio::co_spawn(ex, work_off(db, queue, on_result), asio::deferred));
  }
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(tasks))
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
