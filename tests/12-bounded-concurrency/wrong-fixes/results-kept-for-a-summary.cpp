// WRONG: check_orders() keeps a copy of every result until the batch ends.
// expect: check_orders\(\) of [0-9]+ ids, limit [0-9]+ grew the heap by
//
// The reviewer's note: completion order keeps a copy of every result (for a failure summary) until
// the batch ends: memory grows O(N), not O(limit)
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "order_checker.hpp"
#include "workbook/timer.hpp"

namespace ch12 {

namespace asio = boost::asio;
using namespace std::chrono_literals;

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

asio::awaitable<void> worker(mockdb::DatabaseService& db, const std::vector<mockdb::Id>& ids,
                             std::size_t& next, std::vector<OrderResult>& all,
                             const OnResult& on_result) {
  while (next < ids.size()) {
    const mockdb::Id id = ids[next++];
    OrderResult r = co_await check_order(db, id);
    all.push_back(r);  // kept to count failures at the end
    on_result(std::move(r));
  }
}

}  // namespace

asio::awaitable<void> check_orders(mockdb::DatabaseService& db, std::vector<mockdb::Id> ids,
                                   std::size_t limit, OnResult on_result) {
  require_a_limit(limit);
  if (ids.empty()) co_return;
  const auto ex = co_await asio::this_coro::executor;
  std::size_t next = 0;
  std::vector<OrderResult> all;
  using W = decltype(asio::co_spawn(ex, worker(db, ids, next, all, on_result), asio::deferred));
  std::vector<W> workers;
  const std::size_t count = std::min(limit, ids.size());
  for (std::size_t w = 0; w < count; ++w)
    workers.push_back(asio::co_spawn(ex, worker(db, ids, next, all, on_result), asio::deferred));
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(workers))
                             .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
  std::size_t failed = 0;
  for (const OrderResult& r : all) failed += r.failed();
  (void)failed;
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
