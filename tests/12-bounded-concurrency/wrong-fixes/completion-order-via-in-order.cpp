// WRONG: check_orders() reuses the ids'-order window, so its results wait for earlier ones.
// expect: hands each result on as soon as its check completes \(completion order\)
//
// The reviewer's note: check_orders() reuses the in-order window: results wait for earlier ones
// (not handed on as they complete) and a slow check stalls new starts (head-of-line blocking)
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

void require_a_limit(std::size_t limit) {
  if (limit == 0) throw std::invalid_argument("a limit of 0 checks in flight would check nothing");
}

using Slot = asio::experimental::channel<void(boost::system::error_code, OrderResult)>;

asio::awaitable<void> check_into(mockdb::DatabaseService& db, mockdb::Id id,
                                 std::shared_ptr<Slot> slot) {
  OrderResult r = co_await check_order(db, id);
  slot->try_send(boost::system::error_code{}, std::move(r));
}

}  // namespace

asio::awaitable<void> check_orders_in_order(mockdb::DatabaseService& db,
                                            std::vector<mockdb::Id> ids, std::size_t limit,
                                            OnResult on_result);

asio::awaitable<void> check_orders(mockdb::DatabaseService& db, std::vector<mockdb::Id> ids,
                                   std::size_t limit, OnResult on_result) {
  // In order is a special case of "as they complete": one bounded implementation for both.
  co_await check_orders_in_order(db, std::move(ids), limit, std::move(on_result));
}

asio::awaitable<void> check_orders_in_order(mockdb::DatabaseService& db,
                                            std::vector<mockdb::Id> ids, std::size_t limit,
                                            OnResult on_result) {
  require_a_limit(limit);
  if (ids.empty()) co_return;
  const auto ex = co_await asio::this_coro::executor;
  std::deque<std::shared_ptr<Slot>> window;
  for (const mockdb::Id id : ids) {
    if (window.size() == limit) {
      OrderResult oldest = co_await window.front()->async_receive(asio::use_awaitable);
      window.pop_front();
      on_result(std::move(oldest));
    }
    window.push_back(std::make_shared<Slot>(ex, 1));
    asio::co_spawn(ex, check_into(db, id, window.back()), asio::detached);
  }
  while (!window.empty()) {
    OrderResult oldest = co_await window.front()->async_receive(asio::use_awaitable);
    window.pop_front();
    on_result(std::move(oldest));
  }
}

}  // namespace ch12
