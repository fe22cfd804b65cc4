// Chapter 12 — bounded concurrency.
//
// A nightly job checks every order of a list (ten thousand of them) against the
// database. Each check is one read that spends its time waiting for the
// database, so the checks should overlap; but not all of them: the database
// has a connection limit and a few cores, and every check in flight holds a
// coroutine frame. The pitfall (chapters/) and the fix (solutions/) define
// check_orders() and check_orders_in_order() in a file of the same name; this
// header is their shared interface.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include "mockdb/database.hpp"

namespace ch12 {

/// The table the orders live in.
inline constexpr const char* kOrdersTable = "orders";

/// What checking one order gave: the order, "no such order", or an error.
///
/// A failed check is a value, not an exception, so that one failure among ten
/// thousand checks does not take the batch with it.
struct OrderResult {
  mockdb::Id id = 0;                 ///< The id that was checked.
  std::optional<mockdb::Row> order;  ///< The order; empty if there is none or the read failed.
  boost::system::error_code error;   ///< Why the read failed; empty if it did not.

  /// True if the read failed (as opposed to finding no order).
  bool failed() const noexcept { return static_cast<bool>(error); }
};

/// Called once per id with its result, on the event loop's thread.
///
/// It must not throw. An exception from it is a bug in the caller, not a
/// database error, and what the batch does then is not specified: correct
/// designs differ (the fix's check_orders() lets its other workers finish and
/// then rethrows it; its check_orders_in_order() rethrows it at once, with the
/// window's checks still in flight; a detached check's exception is lost, and
/// a channel semaphore then waits for its token for ever). Catch inside it.
using OnResult = std::function<void(OrderResult)>;

/// Checks the orders `ids` with at most `limit` checks in flight at once, and
/// hands each result to `on_result` as soon as its check completes
/// (completion order: Rust's `buffer_unordered(limit)`).
///
/// Each id is checked once, with check_order(), and gets exactly one call of
/// `on_result` (an id given twice gets two). A database error is reported in
/// that id's result and the batch goes on. Returns once every check has ended
/// and every result has been handed on, at that instant; no check is left
/// running. Each call owns its ids and its progress through them: several
/// calls may run on one loop at once. `limit` must be at least 1
/// (std::invalid_argument, thrown before anything starts, even for no ids);
/// any larger limit is allowed, and one above ids.size() costs no more than a
/// limit of ids.size() (no workers, slots or frames beyond the ids).
boost::asio::awaitable<void> check_orders(mockdb::DatabaseService& db, std::vector<mockdb::Id> ids,
                                          std::size_t limit, OnResult on_result);

/// The same, with the results handed on in the order of `ids` (Rust's
/// `buffered(limit)`): a result that completes before an earlier one waits
/// for it. At most `limit` checks are started and not yet handed on at any
/// moment (in flight, or done and waiting for an earlier one): a bounded
/// reorder window, so one slow check holds back at most `limit` results.
boost::asio::awaitable<void> check_orders_in_order(mockdb::DatabaseService& db,
                                                   std::vector<mockdb::Id> ids, std::size_t limit,
                                                   OnResult on_result);

// ---- provided (orders.cpp) ----

/// Checks one order: one read. Never throws a database error: it returns it in
/// the result. Each call's coroutine frame is counted by check_frames().
boost::asio::awaitable<OrderResult> check_order(mockdb::DatabaseService& db, mockdb::Id id);

/// How many check_order() coroutine frames exist now, and the most at once
/// since the last reset_check_frames(). A frame exists from the call of
/// check_order() (which allocates it) until it is destroyed, whether it ran or
/// not: a check created and not yet started costs its frame too.
struct CheckFrames {
  std::size_t live = 0;      ///< Frames that exist now.
  std::size_t max_live = 0;  ///< The most that existed at once.
};
CheckFrames check_frames() noexcept;
/// Sets the maximum to the current count.
void reset_check_frames() noexcept;

/// Adds `count` orders named "order 1", "order 2", ... (ids 1 to `count`),
/// without latency. Runs on the loop it is awaited on.
boost::asio::awaitable<void> add_sample_orders(mockdb::DatabaseService& db, int count);

/// The name the sample order `id` has: "order <id>".
std::string order_name(mockdb::Id id);

}  // namespace ch12
