// WRONG: batches of `limit`, each awaited whole: a batch waits for its slowest check.
// expect: slots sat idle while
//
// Within the limit, every result once, errors per item; and with reads of
// equal length as fast as the fix. With uneven reads, each batch holds its
// finished slots empty until its slowest read is done: the throughput is
// set by the slowest of every `limit`, not by the average.
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

// One check, handed on as soon as it completes.
asio::awaitable<void> check_and_hand_on(mockdb::DatabaseService& db, mockdb::Id id,
                                        const OnResult& on_result) {
  on_result(co_await check_order(db, id));
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
  using Check = decltype(asio::co_spawn(ex, check_and_hand_on(db, 0, on_result), asio::deferred));
  // Chapter 03's group, one batch of `limit` at a time.
  for (std::size_t first = 0; first < ids.size(); first += limit) {
    std::vector<Check> batch;
    for (std::size_t i = first; i < std::min(first + limit, ids.size()); ++i) {
      batch.push_back(asio::co_spawn(ex, check_and_hand_on(db, ids[i], on_result), asio::deferred));
    }
    auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(batch))
                               .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    for (const std::exception_ptr& error : errors) {
      if (error) std::rethrow_exception(error);  // not a database error: a bug
    }
  }
  //! [fix]
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
