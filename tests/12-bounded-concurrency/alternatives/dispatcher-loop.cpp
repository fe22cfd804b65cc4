// RIGHT: one loop receives each result from a channel and starts the next ids itself.
//
// The reviewer's note: one dispatcher loop: checks (detached) send (position, result) into a
// results channel of capacity limit; the caller receives one result at a time, hands on what it can
// (completion order: at once; ids' order: the contiguous prefix of a ring of limit slots) and only
// then starts as many ids as the window allows
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include "order_checker.hpp"

namespace ch12 {

namespace asio = boost::asio;

namespace {

void require_a_limit(std::size_t limit) {
  if (limit == 0) throw std::invalid_argument("a limit of 0 checks in flight would check nothing");
}

using Results =
    asio::experimental::channel<void(boost::system::error_code, std::size_t, OrderResult)>;

asio::awaitable<void> check_and_report(mockdb::DatabaseService& db, mockdb::Id id, std::size_t pos,
                                       std::shared_ptr<Results> results) {
  OrderResult result = co_await check_order(db, id);
  // Never blocks: at most `limit` checks are outstanding and the channel holds `limit`.
  results->try_send(boost::system::error_code{}, pos, std::move(result));
}

asio::awaitable<void> dispatch(mockdb::DatabaseService& db, std::vector<mockdb::Id> ids,
                               std::size_t limit, bool in_order, OnResult on_result) {
  require_a_limit(limit);
  if (ids.empty()) co_return;
  limit = std::min(limit, ids.size());  // a ring slot per id at most, whatever the limit
  const auto ex = co_await asio::this_coro::executor;
  auto results = std::make_shared<Results>(ex, limit);
  std::vector<std::optional<OrderResult>> ring(limit);
  std::size_t next = 0, handed = 0;
  auto fill = [&] {
    for (; next < ids.size() && next - handed < limit; ++next)
      asio::co_spawn(ex, check_and_report(db, ids[next], next, results), asio::detached);
  };
  fill();
  while (handed < ids.size()) {
    auto [pos, result] = co_await results->async_receive(asio::use_awaitable);
    if (!in_order) {
      ++handed;
      on_result(std::move(result));
    } else {
      ring[pos % limit] = std::move(result);
      while (handed < next && ring[handed % limit]) {
        OrderResult ready = std::move(*ring[handed % limit]);
        ring[handed % limit].reset();
        ++handed;
        on_result(std::move(ready));
      }
    }
    fill();
  }
}

}  // namespace

asio::awaitable<void> check_orders(mockdb::DatabaseService& db, std::vector<mockdb::Id> ids,
                                   std::size_t limit, OnResult on_result) {
  co_await dispatch(db, std::move(ids), limit, false, std::move(on_result));
}

asio::awaitable<void> check_orders_in_order(mockdb::DatabaseService& db,
                                            std::vector<mockdb::Id> ids, std::size_t limit,
                                            OnResult on_result) {
  co_await dispatch(db, std::move(ids), limit, true, std::move(on_result));
}

}  // namespace ch12
