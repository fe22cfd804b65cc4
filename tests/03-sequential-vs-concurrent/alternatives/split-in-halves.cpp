// RIGHT: read_notes() reads both halves at once with operator&&, recursively.
//
// operator&& for a number of reads known only at run time: recursion. Each
// level co_spawns its two halves (experimental/awaitable_operators.hpp builds
// && from make_parallel_group and co_spawn(..., deferred)), so the whole tree
// starts before anything waits. On an exception that is not a database error,
// && cancels the other half, waits for it, and rethrows.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <span>
#include <utility>

#include "note_reader.hpp"

namespace ch03 {

namespace asio = boost::asio;

namespace {

// Reads `ids` (borrowed from the caller, which awaits this directly).
asio::awaitable<std::vector<NoteResult>> read_span(mockdb::DatabaseService& db,
                                                   std::span<const mockdb::Id> ids) {
  if (ids.size() == 1) {
    std::vector<NoteResult> one;
    one.push_back(co_await read_note(db, ids.front()));
    co_return one;
  }
  using namespace asio::experimental::awaitable_operators;
  const std::size_t half = ids.size() / 2;
  auto [left, right] =
      co_await (read_span(db, ids.first(half)) && read_span(db, ids.subspan(half)));
  left.insert(left.end(), std::make_move_iterator(right.begin()),
              std::make_move_iterator(right.end()));
  co_return std::move(left);
}

}  // namespace

boost::asio::awaitable<std::vector<NoteResult>> read_notes(mockdb::DatabaseService& db,
                                                           std::vector<mockdb::Id> ids) {
  if (ids.empty()) co_return std::vector<NoteResult>{};
  co_return co_await read_span(db, ids);
}

boost::asio::awaitable<std::array<NoteResult, 3>> read_three(mockdb::DatabaseService& db,
                                                             mockdb::Id a, mockdb::Id b,
                                                             mockdb::Id c) {
  const auto ex = co_await asio::this_coro::executor;
  auto [order, e1, first, e2, second, e3, third] =
      co_await asio::experimental::make_parallel_group(
          asio::co_spawn(ex, read_note(db, a), asio::deferred),
          asio::co_spawn(ex, read_note(db, b), asio::deferred),
          asio::co_spawn(ex, read_note(db, c), asio::deferred))
          .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (const std::exception_ptr& e : {e1, e2, e3}) {
    if (e) std::rethrow_exception(e);
  }
  co_return std::array{std::move(first), std::move(second), std::move(third)};
}

}  // namespace ch03
