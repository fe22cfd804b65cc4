// RIGHT: one loop hands out posts to at most `limit` fetches and queues each post's replies.
//
// No levels and no recursion: a queue of the posts whose replies are still to
// fetch, a count of fetches running, and a channel on which each fetch hands
// back the replies it found. The loop starts fetches while fewer than `limit`
// run and posts wait, then takes the next result and queues its replies. A
// reply is fetched as soon as a slot is free, even before the rest of its
// parent's level is in. Each fetch owns what it found until the loop takes it,
// so a fetch never writes into the tree. After a failure the loop starts
// nothing more, waits for the fetches still running, and then rethrows.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <deque>
#include <exception>
#include <memory>
#include <stdexcept>
#include <utility>

#include "reply_tree.hpp"

namespace ch13 {

namespace asio = boost::asio;

namespace {

// What a fetch hands back: its post, the replies found, or what went wrong.
using Results = asio::experimental::channel<void(boost::system::error_code, Post*,
                                                 std::vector<Post>, std::exception_ptr)>;

// Fetches the replies of `post` and hands them to the loop. `post` is only
// passed back, never written: the loop fills it in. The channel is shared,
// so it outlives the loop if the loop is ever gone first.
asio::awaitable<void> fetch_for(mockdb::DatabaseService& db, Post* post,
                                std::shared_ptr<Results> results) {
  std::vector<Post> replies;
  std::exception_ptr failure;
  try {
    replies = co_await fetch_replies(db, post->id);
  } catch (...) {
    failure = std::current_exception();
  }
  // The channel has room for `limit` results and at most `limit` fetches run.
  results->try_send(boost::system::error_code{}, post, std::move(replies), failure);
}

}  // namespace

asio::awaitable<Post> load_thread(mockdb::DatabaseService& db, mockdb::Id root, std::size_t limit) {
  if (limit == 0) throw std::invalid_argument("a limit of 0 queries in flight would load nothing");
  std::optional<Post> thread = co_await fetch_post(db, root);
  if (!thread) throw NoSuchPost(root);
  const auto ex = co_await asio::this_coro::executor;
  auto results = std::make_shared<Results>(ex, limit);
  std::deque<Post*> waiting{&*thread};  // posts whose replies no fetch has asked for yet
  std::size_t running = 0;
  std::exception_ptr failure;
  while (running > 0 || (!failure && !waiting.empty())) {
    while (!failure && running < limit && !waiting.empty()) {
      asio::co_spawn(ex, fetch_for(db, waiting.front(), results), asio::detached);
      waiting.pop_front();
      ++running;
    }
    auto [post, replies, failed] = co_await results->async_receive(asio::use_awaitable);
    --running;
    if (failed) {
      if (!failure) failure = failed;
      continue;
    }
    post->replies = std::move(replies);
    for (Post& reply : post->replies) waiting.push_back(&reply);
  }
  if (failure) std::rethrow_exception(failure);
  co_return std::move(*thread);
}

}  // namespace ch13
