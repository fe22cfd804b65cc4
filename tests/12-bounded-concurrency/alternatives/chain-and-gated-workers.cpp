// RIGHT: `limit` chains of checks; in ids' order, workers gated by the window.
//
// The reviewer's note: completion order as `limit` chains: each finished check's completion handler
// hands on its result and spawns the next id, the call awaits a one-shot channel sent when nothing
// runs; ids' order as `limit` workers that take a position only while it is inside the window
// [handed, handed+limit), park results in a ring, and hand on the contiguous prefix
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

using Signal = asio::experimental::channel<void(boost::system::error_code)>;

struct Chain {
  Chain(mockdb::DatabaseService& d, std::vector<mockdb::Id> i, OnResult f,
        const asio::any_io_executor& e)
      : db(d), ids(std::move(i)), on_result(std::move(f)), ex(e), finished(e, 1) {}
  mockdb::DatabaseService& db;
  std::vector<mockdb::Id> ids;
  OnResult on_result;
  asio::any_io_executor ex;
  std::size_t next = 0;
  std::size_t running = 0;
  Signal finished;
  std::exception_ptr error;
};

void start_next(const std::shared_ptr<Chain>& c) {
  if (c->next >= c->ids.size()) {
    if (c->running == 0) c->finished.try_send(boost::system::error_code{});
    return;
  }
  const mockdb::Id id = c->ids[c->next++];
  ++c->running;
  asio::co_spawn(c->ex, check_order(c->db, id), [c](const std::exception_ptr& e, OrderResult r) {
    --c->running;
    if (e) {
      if (!c->error) c->error = e;
    } else
      c->on_result(std::move(r));
    start_next(c);
  });
}

// ids' order: gated workers
struct Gate {
  Gate(const asio::any_io_executor& ex, std::size_t limit)
      : wake(ex, asio::steady_timer::time_point::max()), ring(limit) {}
  std::size_t next = 0, handed = 0;
  asio::steady_timer wake;
  std::vector<std::optional<OrderResult>> ring;
};

asio::awaitable<void> gated_worker(mockdb::DatabaseService& db, const std::vector<mockdb::Id>& ids,
                                   std::size_t limit, Gate& g, const OnResult& on_result) {
  while (g.next < ids.size()) {
    if (g.next - g.handed >= limit) {  // window full: wait for the head to move
      // (no expires_at here: it would cancel the other waiting workers' waits)
      boost::system::error_code ec;
      co_await g.wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    const std::size_t pos = g.next++;
    OrderResult r = co_await check_order(db, ids[pos]);
    g.ring[pos % limit] = std::move(r);
    bool moved = false;
    while (g.handed < ids.size() && g.ring[g.handed % limit]) {
      OrderResult out = std::move(*g.ring[g.handed % limit]);
      g.ring[g.handed % limit].reset();
      ++g.handed;
      moved = true;
      on_result(std::move(out));
    }
    if (moved) g.wake.cancel();
  }
}

}  // namespace

asio::awaitable<void> check_orders(mockdb::DatabaseService& db, std::vector<mockdb::Id> ids,
                                   std::size_t limit, OnResult on_result) {
  require_a_limit(limit);
  if (ids.empty()) co_return;
  const auto ex = co_await asio::this_coro::executor;
  const std::size_t count = std::min(limit, ids.size());
  auto c = std::make_shared<Chain>(db, std::move(ids), std::move(on_result), ex);
  for (std::size_t i = 0; i < count; ++i) start_next(c);
  co_await c->finished.async_receive(asio::use_awaitable);
  if (c->error) std::rethrow_exception(c->error);
}

asio::awaitable<void> check_orders_in_order(mockdb::DatabaseService& db,
                                            std::vector<mockdb::Id> ids, std::size_t limit,
                                            OnResult on_result) {
  require_a_limit(limit);
  if (ids.empty()) co_return;
  const auto ex = co_await asio::this_coro::executor;
  const std::size_t k = std::min(limit, ids.size());
  Gate g(ex, k);
  using W = decltype(asio::co_spawn(ex, gated_worker(db, ids, k, g, on_result), asio::deferred));
  std::vector<W> workers;
  for (std::size_t w = 0; w < k; ++w)
    workers.push_back(asio::co_spawn(ex, gated_worker(db, ids, k, g, on_result), asio::deferred));
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(workers))
                             .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace ch12
