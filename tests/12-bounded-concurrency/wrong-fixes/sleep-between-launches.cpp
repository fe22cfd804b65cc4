// WRONG: a 1 ms sleep between launches paces the checks instead of bounding them.
// expect: slots sat idle while
//
// A rate is not a limit: how many run at once is the rate times the latency,
// which the caller does not control. With 10 ms reads it is 10 (under a limit
// of 16, with slots idle); with slower reads it passes any limit.
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

// A slot of the reorder window: the result of one check, once it is in.
using Slot = asio::experimental::channel<void(boost::system::error_code, OrderResult)>;

// Checks `id` and puts the result in its slot (which has room for exactly one).
asio::awaitable<void> check_into(mockdb::DatabaseService& db, mockdb::Id id,
                                 std::shared_ptr<Slot> slot) {
  OrderResult result = co_await check_order(db, id);
  slot->try_send(boost::system::error_code{}, std::move(result));
}

// One check, handed on as soon as it completes.
asio::awaitable<void> check_and_hand_on(mockdb::DatabaseService& db, mockdb::Id id,
                                        OnResult on_result) {
  on_result(co_await check_order(db, id));
}

}  // namespace

asio::awaitable<void> check_orders(mockdb::DatabaseService& db, std::vector<mockdb::Id> ids,
                                   std::size_t limit, OnResult on_result) {
  require_a_limit(limit);
  if (ids.empty()) co_return;  // a group of none never completes
  //! [fix]
  // Pace the launches instead of counting them: one new check per millisecond.
  const auto ex = co_await asio::this_coro::executor;
  std::size_t done = 0;
  OnResult count_and_hand_on = [&done, &on_result](OrderResult result) {
    ++done;
    on_result(std::move(result));
  };
  for (const mockdb::Id id : ids) {
    asio::co_spawn(ex, check_and_hand_on(db, id, count_and_hand_on), asio::detached);
    co_await workbook::sleep_for(std::chrono::milliseconds(1));
  }
  while (done < ids.size()) co_await workbook::sleep_for(std::chrono::milliseconds(1));
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
