// RIGHT: the opening post's read and the query for its replies run together (both need the id).
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <exception>
#include <stdexcept>
#include <utility>
#include <vector>

#include "reply_tree.hpp"

namespace ch13 {

namespace asio = boost::asio;

namespace {

void require_a_limit(std::size_t limit) {
  if (limit == 0) throw std::invalid_argument("a limit of 0 queries in flight would load nothing");
}

asio::awaitable<void> worker(mockdb::DatabaseService& db, std::vector<Post*>& level,
                             std::size_t& next) {
  while (next < level.size()) {
    Post* post = level[next++];
    post->replies = co_await fetch_replies(db, post->id);
  }
}

asio::awaitable<void> fetch_level(mockdb::DatabaseService& db, std::vector<Post*>& level,
                                  std::size_t limit) {
  auto ex = co_await asio::this_coro::executor;
  std::size_t next = 0;
  using Op = decltype(asio::co_spawn(ex, worker(db, level, next), asio::deferred));
  std::vector<Op> ops;
  const std::size_t n = std::min(limit, level.size());
  for (std::size_t i = 0; i < n; ++i)
    ops.push_back(asio::co_spawn(ex, worker(db, level, next), asio::deferred));
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(ops))
                             .async_wait(asio::experimental::wait_for_all(), asio::deferred);
  for (std::size_t i : order)
    if (errors[i]) std::rethrow_exception(errors[i]);
}

}  // namespace

asio::awaitable<Post> load_thread(mockdb::DatabaseService& db, mockdb::Id root, std::size_t limit) {
  require_a_limit(limit);
  auto ex = co_await asio::this_coro::executor;
  auto [order, e1, post, e2, replies] =
      co_await asio::experimental::make_parallel_group(
          asio::co_spawn(ex, fetch_post(db, root), asio::deferred),
          asio::co_spawn(ex, fetch_replies(db, root), asio::deferred))
          .async_wait(asio::experimental::wait_for_all(), asio::deferred);
  if (order[0] == 0 && e1) std::rethrow_exception(e1);
  if (e2) std::rethrow_exception(e2);
  if (e1) std::rethrow_exception(e1);
  std::optional<Post> thread = std::move(post);
  if (!thread) throw NoSuchPost(root);
  thread->replies = std::move(replies);
  std::vector<Post*> level;
  for (Post& reply : thread->replies) level.push_back(&reply);
  while (!level.empty()) {
    co_await fetch_level(db, level, limit);
    std::vector<Post*> below;
    for (Post* post : level)
      for (Post& reply : post->replies) below.push_back(&reply);
    level = std::move(below);
  }
  co_return std::move(*thread);
}

}  // namespace ch13
