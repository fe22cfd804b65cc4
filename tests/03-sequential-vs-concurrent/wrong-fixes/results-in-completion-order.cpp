// WRONG: results in the order the reads completed (the group's `order`), not the order asked.
// expect: in the order the reads completed, not in the order asked
//
// make_parallel_group's first result is the completion order; its results
// vector is already in the order of the operations. Using the first to
// "sort" the second scrambles them whenever reads finish out of order. With
// reads of equal length they finish in the order started, so only reads of
// different lengths show it.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <utility>

#include "note_reader.hpp"

namespace ch03 {

namespace asio = boost::asio;

boost::asio::awaitable<std::vector<NoteResult>> read_notes(mockdb::DatabaseService& db,
                                                           std::vector<mockdb::Id> ids) {
  if (ids.empty()) co_return std::vector<NoteResult>{};
  const auto ex = co_await asio::this_coro::executor;
  using Read = decltype(asio::co_spawn(ex, read_note(db, 0), asio::deferred));
  std::vector<Read> reads;
  reads.reserve(ids.size());
  for (const mockdb::Id id : ids)
    reads.push_back(asio::co_spawn(ex, read_note(db, id), asio::deferred));
  auto [order, errors, results] =
      co_await asio::experimental::make_parallel_group(std::move(reads))
          .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  std::vector<NoteResult> in_order;
  in_order.reserve(order.size());
  for (const std::size_t i : order) in_order.push_back(std::move(results[i]));
  co_return in_order;
}

boost::asio::awaitable<std::array<NoteResult, 3>> read_three(mockdb::DatabaseService& db,
                                                             mockdb::Id a, mockdb::Id b,
                                                             mockdb::Id c) {
  using namespace asio::experimental::awaitable_operators;
  auto [first, second, third] = co_await (read_note(db, a) && read_note(db, b) && read_note(db, c));
  co_return std::array{std::move(first), std::move(second), std::move(third)};
}

}  // namespace ch03
