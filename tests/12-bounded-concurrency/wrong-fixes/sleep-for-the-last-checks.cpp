// WRONG: instead of waiting for its last checks, check_orders() sleeps 1 s, "long enough".
// expect: after its last result was handed on
//
// The reviewer's note: channel semaphore, but instead of waiting for the last checks it sleeps 1 s
// 'long enough'; a read slower than that is handed on after check_orders() returned
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <deque>
#include <exception>
#include <memory>
#include <stdexcept>
#include <utility>

#include "order_checker.hpp"
#include "workbook/timer.hpp"

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

namespace {
using Tokens = asio::experimental::channel<void(boost::system::error_code)>;
asio::awaitable<void> check_and_release(mockdb::DatabaseService& db, mockdb::Id id,
                                        std::shared_ptr<Tokens> tokens,
                                        std::shared_ptr<OnResult> on_result) {
  OrderResult r = co_await check_order(db, id);
  tokens->try_receive([](boost::system::error_code) {});  // give the token back
  (*on_result)(std::move(r));
}
}  // namespace

asio::awaitable<void> check_orders(mockdb::DatabaseService& db, std::vector<mockdb::Id> ids,
                                   std::size_t limit, OnResult on_result) {
  require_a_limit(limit);
  if (ids.empty()) co_return;
  const auto ex = co_await asio::this_coro::executor;
  auto tokens = std::make_shared<Tokens>(ex, limit);
  auto shared_on_result = std::make_shared<OnResult>(std::move(on_result));
  for (const mockdb::Id id : ids) {
    co_await tokens->async_send(boost::system::error_code{},
                                asio::use_awaitable);  // waits while all are taken
    asio::co_spawn(ex, check_and_release(db, id, tokens, shared_on_result), asio::detached);
  }
  // The last checks are still running: give them plenty of time (a read takes a few ms).
  co_await workbook::sleep_for(std::chrono::seconds(1));
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
