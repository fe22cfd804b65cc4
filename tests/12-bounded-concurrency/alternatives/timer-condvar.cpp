// RIGHT: detached checks, a per-call count, and a timer used as a condition variable.
//
// The reviewer's note: detached checks and a per-call counter; the call sleeps on an
// asio::steady_timer used as a condition variable (cancel() wakes it) while `limit` checks are
// held; in ids' order a ring of `limit` optional results and a head index; the last wait is for the
// count itself, not a sleep
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

struct State {
  explicit State(const asio::any_io_executor& ex, std::size_t limit)
      : wake(ex, asio::steady_timer::time_point::max()), ring(limit) {}
  std::size_t held = 0;  // started and not yet handed on
  asio::steady_timer wake;
  std::vector<std::optional<OrderResult>> ring;  // ids' order only
  void notify() { wake.cancel(); }
  asio::awaitable<void> wait() {
    wake.expires_at(asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
};

asio::awaitable<void> check_then_notify(mockdb::DatabaseService& db, mockdb::Id id,
                                        std::shared_ptr<State> s, OnResult on_result) {
  OrderResult r = co_await check_order(db, id);
  on_result(std::move(r));
  --s->held;
  s->notify();
}

asio::awaitable<void> check_into_ring(mockdb::DatabaseService& db, mockdb::Id id, std::size_t pos,
                                      std::shared_ptr<State> s) {
  OrderResult r = co_await check_order(db, id);
  s->ring[pos % s->ring.size()] = std::move(r);
  s->notify();
}

}  // namespace

asio::awaitable<void> check_orders(mockdb::DatabaseService& db, std::vector<mockdb::Id> ids,
                                   std::size_t limit, OnResult on_result) {
  require_a_limit(limit);
  if (ids.empty()) co_return;
  const auto ex = co_await asio::this_coro::executor;
  auto s = std::make_shared<State>(ex, 0);
  for (const mockdb::Id id : ids) {
    while (s->held == limit) co_await s->wait();
    ++s->held;
    asio::co_spawn(ex, check_then_notify(db, id, s, on_result), asio::detached);
  }
  while (s->held > 0) co_await s->wait();
}

asio::awaitable<void> check_orders_in_order(mockdb::DatabaseService& db,
                                            std::vector<mockdb::Id> ids, std::size_t limit,
                                            OnResult on_result) {
  require_a_limit(limit);
  if (ids.empty()) co_return;
  const auto ex = co_await asio::this_coro::executor;
  const std::size_t size = std::min(limit, ids.size());
  auto s = std::make_shared<State>(ex, size);
  std::size_t started = 0, handed = 0;
  while (handed < ids.size()) {
    while (started < ids.size() && started - handed < limit) {
      asio::co_spawn(ex, check_into_ring(db, ids[started], started, s), asio::detached);
      ++started;
    }
    auto& slot = s->ring[handed % size];
    while (!slot) co_await s->wait();
    OrderResult r = std::move(*slot);
    slot.reset();
    ++handed;
    on_result(std::move(r));
  }
}

}  // namespace ch12
