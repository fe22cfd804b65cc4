// WRONG: check_orders() builds a wrapper coroutine per id up front; check_order()'s are bounded.
// expect: coroutine frames created up front
//
// The reviewer's note: builds N check_and_hand_on() frames up front (10000 lazy coroutine frames,
// the pitfall's memory), only check_order() frames are created lazily, so the frame counter sees <=
// limit
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

namespace {
asio::awaitable<void> check_and_hand_on(mockdb::DatabaseService& db, mockdb::Id id,
                                        const OnResult& on_result) {
  on_result(co_await check_order(db, id));
}
// Runs the prepared checks, one at a time, taking the next one nobody has taken.
asio::awaitable<void> run_prepared(std::vector<asio::awaitable<void>>& checks, std::size_t& next) {
  while (next < checks.size()) co_await std::move(checks[next++]);
}
}  // namespace

asio::awaitable<void> check_orders(mockdb::DatabaseService& db, std::vector<mockdb::Id> ids,
                                   std::size_t limit, OnResult on_result) {
  require_a_limit(limit);
  if (ids.empty()) co_return;
  const auto ex = co_await asio::this_coro::executor;
  // Keep the pitfall's list of checks (created, not started), but run only `limit` at a time.
  std::vector<asio::awaitable<void>> checks;
  checks.reserve(ids.size());
  for (const mockdb::Id id : ids) checks.push_back(check_and_hand_on(db, id, on_result));
  std::size_t next = 0;
  using Runner = decltype(asio::co_spawn(ex, run_prepared(checks, next), asio::deferred));
  std::vector<Runner> runners;
  for (std::size_t w = 0; w < std::min(limit, ids.size()); ++w)
    runners.push_back(asio::co_spawn(ex, run_prepared(checks, next), asio::deferred));
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(runners))
                             .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (const std::exception_ptr& error : errors)
    if (error) std::rethrow_exception(error);
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
