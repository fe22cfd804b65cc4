// WRONG: each reply's subtree gets its own co_spawn, but each is awaited before the next starts.
// expect: took 410 ms = 41 x L
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>
#include <utility>

#include "reply_tree.hpp"

namespace ch13 {

namespace asio = boost::asio;

namespace {

void require_a_limit(std::size_t limit) {
  if (limit == 0) throw std::invalid_argument("a limit of 0 queries in flight would load nothing");
}

// Fills in the replies under `post`, at every depth. `post` is borrowed: the
// caller awaits this before it touches the tree again.
asio::awaitable<void> load_replies(mockdb::DatabaseService& db, Post& post) {
  post.replies = co_await fetch_replies(db, post.id);
  const auto ex = co_await asio::this_coro::executor;
  for (Post& reply : post.replies) {
    // Each reply's subtree in a coroutine of its own, so they run concurrently.
    co_await asio::co_spawn(ex, load_replies(db, reply), asio::use_awaitable);
  }
}

}  // namespace

asio::awaitable<Post> load_thread(mockdb::DatabaseService& db, mockdb::Id root, std::size_t limit) {
  require_a_limit(limit);
  std::optional<Post> thread = co_await fetch_post(db, root);
  if (!thread) throw NoSuchPost(root);
  co_await load_replies(db, *thread);
  co_return std::move(*thread);
}

}  // namespace ch13
