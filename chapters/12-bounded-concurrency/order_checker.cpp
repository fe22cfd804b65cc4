// Chapter 12, the pitfall: every check started at once.
//
// This is chapter 03's fix, applied to ten thousand ids: create every check,
// hand them all to one parallel group, await the group. For three reads it is
// right. For ten thousand it asks the database for ten thousand connections
// at the same moment (all but the first hundred fail with "too many
// connections"), and holds ten thousand coroutine frames while it waits.
// `limit` is accepted and never looked at: nothing holds the work back.
#include "order_checker.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <stdexcept>
#include <utility>

namespace ch12 {

namespace asio = boost::asio;

namespace {

// One check, handed on as soon as it completes. `on_result` is borrowed: the
// caller awaits every check before its own frame (which owns it) goes away.
asio::awaitable<void> check_and_hand_on(mockdb::DatabaseService& db, mockdb::Id id,
                                        const OnResult& on_result) {
  on_result(co_await check_order(db, id));
}

void require_a_limit(std::size_t limit) {
  if (limit == 0) throw std::invalid_argument("a limit of 0 checks in flight would check nothing");
}

}  // namespace

asio::awaitable<void> check_orders(mockdb::DatabaseService& db, std::vector<mockdb::Id> ids,
                                   std::size_t limit, OnResult on_result) {
  require_a_limit(limit);
  if (ids.empty()) co_return;  // a group of none never completes
  //! [pitfall]
  const auto ex = co_await asio::this_coro::executor;
  using Check = decltype(asio::co_spawn(ex, check_and_hand_on(db, 0, on_result), asio::deferred));
  std::vector<Check> checks;
  checks.reserve(ids.size());
  for (const mockdb::Id id : ids) {  // one frame per id, all of them now
    checks.push_back(asio::co_spawn(ex, check_and_hand_on(db, id, on_result), asio::deferred));
  }
  // Starts every check at once, however many there are.
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(checks))
                             .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  //! [pitfall]
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);  // not a database error: a bug
  }
}

asio::awaitable<void> check_orders_in_order(mockdb::DatabaseService& db,
                                            std::vector<mockdb::Id> ids, std::size_t limit,
                                            OnResult on_result) {
  require_a_limit(limit);
  if (ids.empty()) co_return;
  //! [pitfall_in_order]
  const auto ex = co_await asio::this_coro::executor;
  using Check = decltype(asio::co_spawn(ex, check_order(db, 0), asio::deferred));
  std::vector<Check> checks;
  checks.reserve(ids.size());
  for (const mockdb::Id id : ids)
    checks.push_back(asio::co_spawn(ex, check_order(db, id), asio::deferred));
  // Every check at once; every result held until the last one is in.
  auto [order, errors, results] =
      co_await asio::experimental::make_parallel_group(std::move(checks))
          .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  for (OrderResult& result : results) on_result(std::move(result));
  //! [pitfall_in_order]
}

}  // namespace ch12
