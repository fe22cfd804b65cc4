// RIGHT: each check's completion handler refills a ring of `limit` slots; no workers.
//
// The reviewer's note: no workers, no group, no channel per check: each check's completion handler
// (co_spawn with a callback) stores its result in a ring of `limit` slots, hands on what it can
// (completion order: at once; ids' order: the contiguous prefix), and starts as many new ids as the
// window allows; the caller awaits a one-shot channel sent when nothing is running
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
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

using Done = asio::experimental::channel<void(boost::system::error_code, std::exception_ptr)>;

struct Batch {
  Batch(const asio::any_io_executor& ex, mockdb::DatabaseService& db, std::vector<mockdb::Id> ids,
        std::size_t limit, bool in_order, OnResult on_result)
      : ex(ex),
        db(db),
        ids(std::move(ids)),
        limit(limit),
        in_order(in_order),
        on_result(std::move(on_result)),
        ring(limit),
        done(ex, 1) {}
  asio::any_io_executor ex;
  mockdb::DatabaseService& db;
  std::vector<mockdb::Id> ids;
  std::size_t limit;
  bool in_order;
  OnResult on_result;
  std::vector<std::optional<OrderResult>>
      ring;  // in order: results of positions [handed, handed + limit)
  Done done;
  std::size_t next = 0;     // first position not started
  std::size_t handed = 0;   // positions handed on (in order: a prefix)
  std::size_t running = 0;  // started and not completed
  std::exception_ptr failure;
  bool finished = false;
};

void refill(const std::shared_ptr<Batch>& b);

void hand_on(const std::shared_ptr<Batch>& b, OrderResult result) {
  try {
    b->on_result(std::move(result));
  } catch (...) {
    if (!b->failure) b->failure = std::current_exception();
  }
}

void start(const std::shared_ptr<Batch>& b) {
  const std::size_t pos = b->next++;
  ++b->running;
  asio::co_spawn(b->ex, check_order(b->db, b->ids[pos]),
                 [b, pos](const std::exception_ptr& error, OrderResult result) {
                   --b->running;
                   if (error) {
                     if (!b->failure) b->failure = error;
                   } else if (!b->in_order) {
                     ++b->handed;
                     hand_on(b, std::move(result));
                   } else {
                     b->ring[pos % b->limit] = std::move(result);
                     while (b->handed < b->next && b->ring[b->handed % b->limit]) {
                       OrderResult ready = std::move(*b->ring[b->handed % b->limit]);
                       b->ring[b->handed % b->limit].reset();
                       ++b->handed;
                       hand_on(b, std::move(ready));
                     }
                   }
                   refill(b);
                 });
}

// Starts ids while the window has room; signals the caller once nothing is left to run.
void refill(const std::shared_ptr<Batch>& b) {
  while (!b->failure && b->next < b->ids.size() && b->next - b->handed < b->limit) start(b);
  if (b->running == 0 && !b->finished && (b->failure || b->next == b->ids.size())) {
    b->finished = true;
    b->done.try_send(boost::system::error_code{}, b->failure);
  }
}

asio::awaitable<void> run_batch(mockdb::DatabaseService& db, std::vector<mockdb::Id> ids,
                                std::size_t limit, bool in_order, OnResult on_result) {
  require_a_limit(limit);
  if (ids.empty()) co_return;
  limit = std::min(limit, ids.size());  // a ring slot per id at most, whatever the limit
  const auto ex = co_await asio::this_coro::executor;
  auto b = std::make_shared<Batch>(ex, db, std::move(ids), limit, in_order, std::move(on_result));
  refill(b);
  std::exception_ptr failure = co_await b->done.async_receive(asio::use_awaitable);
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

asio::awaitable<void> check_orders(mockdb::DatabaseService& db, std::vector<mockdb::Id> ids,
                                   std::size_t limit, OnResult on_result) {
  co_await run_batch(db, std::move(ids), limit, false, std::move(on_result));
}

asio::awaitable<void> check_orders_in_order(mockdb::DatabaseService& db,
                                            std::vector<mockdb::Id> ids, std::size_t limit,
                                            OnResult on_result) {
  co_await run_batch(db, std::move(ids), limit, true, std::move(on_result));
}

}  // namespace ch12
