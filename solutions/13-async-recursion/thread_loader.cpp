// Chapter 13, the fix: one level at a time, every post of a level at once.
//
// The replies of a post can be asked for only once the post has been found,
// so the levels must come one after another; the posts of one level need not.
// load_thread() keeps the posts whose replies it has not fetched yet (one
// level), fetches all their replies at once, and makes the replies found the
// next level: a thread takes one query latency per level, not one per post.
// At once means at most `limit` queries in flight: chapter 12's workers, each
// taking the next post of the level that nobody has taken, so a level of ten
// thousand replies never asks for ten thousand connections.
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <stdexcept>
#include <utility>

#include "reply_tree.hpp"

namespace ch13 {

namespace asio = boost::asio;

namespace {

void require_a_limit(std::size_t limit) {
  if (limit == 0) throw std::invalid_argument("a limit of 0 queries in flight would load nothing");
}

// One worker: fetches the replies of the next post of `level` not yet taken
// until none is left. `level` and `next` are borrowed from fetch_level(),
// which awaits every worker before its frame (which owns `next`) goes away.
// The workers share one thread (the loop's), so `next` needs no lock: it is
// read and incremented with no co_await in between.
asio::awaitable<void> fetch_in_turn(mockdb::DatabaseService& db, const std::vector<Post*>& level,
                                    std::size_t& next) {
  while (next < level.size()) {
    Post& post = *level[next++];
    post.replies = co_await fetch_replies(db, post.id);
  }
}

// Fetches the replies of every post of `level`, at most `limit` at once, and
// returns when every fetch has ended; rethrows a failure once they all have.
asio::awaitable<void> fetch_level(mockdb::DatabaseService& db, const std::vector<Post*>& level,
                                  std::size_t limit) {
  const auto ex = co_await asio::this_coro::executor;
  std::size_t next = 0;  // the first post no worker has taken yet
  using Worker = decltype(asio::co_spawn(ex, fetch_in_turn(db, level, next), asio::deferred));
  std::vector<Worker> workers;
  const std::size_t count = std::min(limit, level.size());  // no idle workers
  for (std::size_t w = 0; w < count; ++w) {
    workers.push_back(asio::co_spawn(ex, fetch_in_turn(db, level, next), asio::deferred));
  }
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(workers))
                             .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);  // every worker has ended by now
  }
}

}  // namespace

asio::awaitable<Post> load_thread(mockdb::DatabaseService& db, mockdb::Id root, std::size_t limit) {
  require_a_limit(limit);
  std::optional<Post> thread = co_await fetch_post(db, root);
  if (!thread) throw NoSuchPost(root);
  //! [fix]
  // The posts whose replies are not fetched yet: one level of the tree. The
  // pointers stay valid: a post's replies vector is filled once, and only its
  // elements' own replies change afterwards.
  std::vector<Post*> level{&*thread};
  while (!level.empty()) {
    co_await fetch_level(db, level, limit);  // the whole level at once
    std::vector<Post*> below;
    for (Post* post : level) {
      for (Post& reply : post->replies) below.push_back(&reply);
    }
    level = std::move(below);
  }
  //! [fix]
  co_return std::move(*thread);
}

}  // namespace ch13
