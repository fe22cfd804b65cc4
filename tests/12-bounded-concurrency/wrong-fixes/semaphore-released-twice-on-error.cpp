// WRONG: a failed check gives its token back twice, so each failure lets one more check in.
// expect: over the limit \(max in flight [0-9]+, limit 8\)
//
// The early release "frees the slot as soon as we know it failed", and the
// release at the end still runs. The second try_receive takes a token that
// belongs to a check still running: the count of free slots drifts up by one
// per failure, and the limit holds only while nothing fails.
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

// A slot of the reorder window: the result of one check, once it is in.
using Slot = asio::experimental::channel<void(boost::system::error_code, OrderResult)>;

// Checks `id` and puts the result in its slot (which has room for exactly one).
asio::awaitable<void> check_into(mockdb::DatabaseService& db, mockdb::Id id,
                                 std::shared_ptr<Slot> slot) {
  OrderResult result = co_await check_order(db, id);
  slot->try_send(boost::system::error_code{}, std::move(result));
}

// A token per check in flight: a channel with room for `limit` tokens. Sending
// one takes a slot (and waits while all are taken); receiving one frees it.
using Tokens = asio::experimental::channel<void(boost::system::error_code)>;

void give_back(Tokens& tokens) {
  tokens.try_receive([](boost::system::error_code) {});
}

// One check, handed on, then its token given back. `tokens` and `on_result`
// are borrowed: check_orders() takes every token back before it returns.
asio::awaitable<void> check_and_release(mockdb::DatabaseService& db, mockdb::Id id,
                                        const OnResult& on_result, Tokens& tokens) {
  OrderResult result = co_await check_order(db, id);
  if (result.failed()) give_back(tokens);  // a failed check frees its slot at once
  on_result(std::move(result));
  give_back(tokens);
}

}  // namespace

asio::awaitable<void> check_orders(mockdb::DatabaseService& db, std::vector<mockdb::Id> ids,
                                   std::size_t limit, OnResult on_result) {
  require_a_limit(limit);
  if (ids.empty()) co_return;  // a group of none never completes
  //! [fix]
  const auto ex = co_await asio::this_coro::executor;
  Tokens tokens(ex, limit);
  for (const mockdb::Id id : ids) {
    co_await tokens.async_send(boost::system::error_code{}, asio::use_awaitable);  // a free slot
    asio::co_spawn(ex, check_and_release(db, id, on_result, tokens), asio::detached);
  }
  // Taking every slot once more waits until the last checks have given theirs back.
  for (std::size_t t = 0; t < limit; ++t) {
    co_await tokens.async_send(boost::system::error_code{}, asio::use_awaitable);
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
