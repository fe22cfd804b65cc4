// WRONG: the shared index and ids live at namespace scope, so two batches at once share one cursor.
// expect: results for the other batch's ids
//
// The reviewer's note: the shared index and the ids live in namespace-scope variables, reset by
// each call: two batches running at once on the loop (the benchmark's 'four batches at once')
// overwrite each other's cursor, skipping ids, checking another batch's ids, or reading a destroyed
// vector
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
// The batch's shared cursor lives here rather than being passed by reference into every worker
// (C++ Core Guidelines CP.53: no reference parameters to coroutines).
const std::vector<mockdb::Id>* batch_ids = nullptr;
std::size_t batch_next = 0;

asio::awaitable<void> check_from_cursor(mockdb::DatabaseService& db, OnResult on_result) {
  while (batch_next < batch_ids->size()) {
    const mockdb::Id id = (*batch_ids)[batch_next++];
    on_result(co_await check_order(db, id));
  }
}
}  // namespace

asio::awaitable<void> check_orders(mockdb::DatabaseService& db, std::vector<mockdb::Id> ids,
                                   std::size_t limit, OnResult on_result) {
  require_a_limit(limit);
  if (ids.empty()) co_return;
  const auto ex = co_await asio::this_coro::executor;
  batch_ids = &ids;  // this batch's ids and cursor
  batch_next = 0;
  using Worker = decltype(asio::co_spawn(ex, check_from_cursor(db, on_result), asio::deferred));
  std::vector<Worker> workers;
  for (std::size_t w = 0; w < std::min(limit, ids.size()); ++w)
    workers.push_back(asio::co_spawn(ex, check_from_cursor(db, on_result), asio::deferred));
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(workers))
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
