// WRONG: each level in groups of `limit`; a group waits for its slowest query before the next.
// expect: slots sat idle while
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

asio::awaitable<void> fetch_one(mockdb::DatabaseService& db, Post* post) {
  post->replies = co_await fetch_replies(db, post->id);
}

asio::awaitable<void> fetch_level(mockdb::DatabaseService& db, std::vector<Post*>& level,
                                  std::size_t limit) {
  auto ex = co_await asio::this_coro::executor;
  for (std::size_t first = 0; first < level.size(); first += limit) {
    using Op = decltype(asio::co_spawn(ex, fetch_one(db, level[0]), asio::deferred));
    std::vector<Op> ops;
    for (std::size_t i = first; i < std::min(first + limit, level.size()); ++i)
      ops.push_back(asio::co_spawn(ex, fetch_one(db, level[i]), asio::deferred));
    auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(ops))
                               .async_wait(asio::experimental::wait_for_all(), asio::deferred);
    for (std::size_t i : order)
      if (errors[i]) std::rethrow_exception(errors[i]);
  }
}

}  // namespace

asio::awaitable<Post> load_thread(mockdb::DatabaseService& db, mockdb::Id root, std::size_t limit) {
  require_a_limit(limit);
  std::optional<Post> thread = co_await fetch_post(db, root);
  if (!thread) throw NoSuchPost(root);
  std::vector<Post*> level{&*thread};
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
