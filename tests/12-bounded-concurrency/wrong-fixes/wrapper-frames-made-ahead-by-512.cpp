// WRONG: up to 512 not-yet-started wrapper frames kept ready, whatever the limit.
// expect: check_orders\(\) of 1000 ids, limit 2 grew the heap by
//
// The reviewer's note: wrapper-frames-up-front kept just under the heap allowance: the call keeps
// up to 512 not-yet-started wrapper coroutines made ahead (refilled when half are used), so 512
// frames are alive whatever the limit (limit 1 included), and they are not check_order() frames
#include <algorithm>
#include <array>
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
#include <boost/system/system_error.hpp>
#include <chrono>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <set>
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

asio::awaitable<void> check_and_hand_on(mockdb::DatabaseService& db, mockdb::Id id,
                                        const OnResult& on_result) {
  on_result(co_await check_order(db, id));
}

using Job = asio::awaitable<void>;
constexpr std::size_t kAhead = 512;

struct Feed {
  mockdb::DatabaseService& db;
  const std::vector<mockdb::Id>& ids;
  const OnResult& on_result;
  std::size_t made = 0;
  std::deque<Job> jobs;
  void refill() {
    while (made < ids.size() && jobs.size() < kAhead)
      jobs.push_back(check_and_hand_on(db, ids[made++], on_result));
  }
};

asio::awaitable<void> feed_worker(Feed& feed) {
  for (;;) {
    if (feed.jobs.size() < kAhead / 2) feed.refill();
    if (feed.jobs.empty()) co_return;
    Job job = std::move(feed.jobs.front());
    feed.jobs.pop_front();
    co_await std::move(job);
  }
}

}  // namespace

asio::awaitable<void> check_orders(mockdb::DatabaseService& db, std::vector<mockdb::Id> ids,
                                   std::size_t limit, OnResult on_result) {
  require_a_limit(limit);
  if (ids.empty()) co_return;
  const auto ex = co_await asio::this_coro::executor;
  Feed feed{db, ids, on_result, 0, {}};
  feed.refill();
  using W = decltype(asio::co_spawn(ex, feed_worker(feed), asio::deferred));
  std::vector<W> workers;
  for (std::size_t w = 0; w < std::min(limit, ids.size()); ++w)
    workers.push_back(asio::co_spawn(ex, feed_worker(feed), asio::deferred));
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(workers))
                             .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
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
