// WRONG: check_orders_in_order() bounds the reads in flight, not the results held early.
// expect: results at once \(started and not yet handed on\)
//
// `limit` workers keep the reads in flight bounded; a result that comes early
// waits in a map until the earlier ones are in. One slow read, and the map
// grows without bound while the workers race ahead: the memory the limit was
// meant to cap, spent on results instead of frames. Rust's `buffered(K)`
// counts a finished-but-waiting result against K.
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
#include <map>
#include <memory>
#include <stdexcept>
#include <utility>

#include "order_checker.hpp"

namespace ch12 {

namespace asio = boost::asio;

namespace {

// One worker: checks the next id not yet taken until none is left. `ids`,
// `next` and `on_result` are borrowed from check_orders(), which awaits every
// worker before its frame (which owns them) goes away. The workers run on one
// thread (the loop's), so `next` needs no lock: it is read and incremented
// with no co_await in between.
asio::awaitable<void> check_in_turn(mockdb::DatabaseService& db, const std::vector<mockdb::Id>& ids,
                                    std::size_t& next, const OnResult& on_result) {
  while (next < ids.size()) {
    const mockdb::Id id = ids[next++];
    on_result(co_await check_order(db, id));
  }
}

void require_a_limit(std::size_t limit) {
  if (limit == 0) throw std::invalid_argument("a limit of 0 checks in flight would check nothing");
}

}  // namespace

asio::awaitable<void> check_orders(mockdb::DatabaseService& db, std::vector<mockdb::Id> ids,
                                   std::size_t limit, OnResult on_result) {
  require_a_limit(limit);
  if (ids.empty()) co_return;  // a group of none never completes
  //! [fix]
  const auto ex = co_await asio::this_coro::executor;
  std::size_t next = 0;  // the first id no worker has taken yet
  using Worker =
      decltype(asio::co_spawn(ex, check_in_turn(db, ids, next, on_result), asio::deferred));
  std::vector<Worker> workers;
  const std::size_t count = std::min(limit, ids.size());  // no idle workers
  for (std::size_t w = 0; w < count; ++w) {
    workers.push_back(asio::co_spawn(ex, check_in_turn(db, ids, next, on_result), asio::deferred));
  }
  // Starts the workers, and resumes when the last one has run out of ids.
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(workers))
                             .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  //! [fix]
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);  // not a database error: a bug
  }
}

asio::awaitable<void> check_orders_in_order(mockdb::DatabaseService& db,
                                            std::vector<mockdb::Id> ids, std::size_t limit,
                                            OnResult on_result) {
  require_a_limit(limit);
  if (ids.empty()) co_return;
  //! [fix_in_order]
  const auto ex = co_await asio::this_coro::executor;
  std::size_t next = 0;                      // the next id to check
  std::size_t handed_on = 0;                 // the next result to hand on
  std::map<std::size_t, OrderResult> early;  // results that came before an earlier one
  OnResult keep_in_order = [&](OrderResult result) {
    // A worker's result: its position is the count of results with a lower one,
    // so find it by id among the positions not yet handed on.
    std::size_t at = handed_on;
    while (early.count(at) != 0 || ids[at] != result.id) ++at;
    early.emplace(at, std::move(result));
    while (early.count(handed_on) != 0) {
      on_result(std::move(early.at(handed_on)));
      early.erase(handed_on++);
    }
  };
  using Worker =
      decltype(asio::co_spawn(ex, check_in_turn(db, ids, next, keep_in_order), asio::deferred));
  std::vector<Worker> workers;
  for (std::size_t w = 0; w < std::min(limit, ids.size()); ++w) {
    workers.push_back(
        asio::co_spawn(ex, check_in_turn(db, ids, next, keep_in_order), asio::deferred));
  }
  co_await asio::experimental::make_parallel_group(std::move(workers))
      .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  //! [fix_in_order]
}

}  // namespace ch12
