// Chapter 13, the pitfall: depth first, one reply after another.
//
// The natural recursive loader: fetch a post's replies, then load each reply's
// own replies, and so on down. In C++ the recursion itself is fine: each call
// of load_replies() is a coroutine whose frame Asio allocates on the heap, so
// a thread a thousand levels deep needs no special care. What is wrong is the
// `co_await` inside the loop: it waits for the first reply's whole subtree
// before asking anything about the second, so the queries never overlap and a
// thread of N posts takes N query latencies, even when it is only three levels
// deep. `limit` is checked and then has nothing to do: one query is in flight.
#include <stdexcept>
#include <utility>

#include "reply_tree.hpp"

namespace ch13 {

namespace asio = boost::asio;

namespace {

void require_a_limit(std::size_t limit) {
  if (limit == 0) throw std::invalid_argument("a limit of 0 queries in flight would load nothing");
}

//! [pitfall]
// Fills in the replies under `post`, at every depth. `post` is borrowed: the
// caller awaits this before it touches the tree again.
asio::awaitable<void> load_replies(mockdb::DatabaseService& db, Post& post) {
  post.replies = co_await fetch_replies(db, post.id);
  for (Post& reply : post.replies) {
    co_await load_replies(db, reply);  // the whole subtree, before the next reply
  }
}
//! [pitfall]

}  // namespace

asio::awaitable<Post> load_thread(mockdb::DatabaseService& db, mockdb::Id root, std::size_t limit) {
  require_a_limit(limit);
  std::optional<Post> thread = co_await fetch_post(db, root);
  if (!thread) throw NoSuchPost(root);
  co_await load_replies(db, *thread);
  co_return std::move(*thread);
}

}  // namespace ch13
