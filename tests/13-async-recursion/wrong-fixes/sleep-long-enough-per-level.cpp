// WRONG: each level's workers are detached and waited for with a sleep "long enough".
// expect: although the query for the replies of post 6 failed
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>
#include <utility>

#include "reply_tree.hpp"
#include "workbook/timer.hpp"

namespace ch13 {

namespace asio = boost::asio;
using namespace std::chrono_literals;

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
// waits until they must have ended.
asio::awaitable<void> fetch_level(mockdb::DatabaseService& db, const std::vector<Post*>& level,
                                  std::size_t limit) {
  const auto ex = co_await asio::this_coro::executor;
  std::size_t next = 0;  // the first post no worker has taken yet
  const std::size_t count = std::min(limit, level.size());  // no idle workers
  for (std::size_t w = 0; w < count; ++w) {
    asio::co_spawn(ex, fetch_in_turn(db, level, next), asio::detached);
  }
  // Three times the latency per round of `limit` queries is long enough for all of them.
  const std::size_t rounds = (level.size() + limit - 1) / limit;
  co_await workbook::sleep_for(rounds * 30ms);
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
