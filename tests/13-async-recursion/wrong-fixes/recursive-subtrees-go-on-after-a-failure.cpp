// WRONG: recursive subtrees awaited with wait_for_all: a failure lets the other subtrees go on.
// expect: went on loading the thread after the query for post 6 had failed
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
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

using Tokens = asio::experimental::channel<void(boost::system::error_code)>;

asio::awaitable<void> load_subtree(mockdb::DatabaseService& db, Post& post, Tokens& tokens) {
  co_await tokens.async_send(boost::system::error_code{}, asio::use_awaitable);  // take a token
  try {
    post.replies = co_await fetch_replies(db, post.id);
  } catch (...) {
    tokens.try_receive([](boost::system::error_code) {});
    throw;
  }
  tokens.try_receive([](boost::system::error_code) {});  // give it back
  if (post.replies.empty()) co_return;
  auto ex = co_await asio::this_coro::executor;
  using Op = decltype(asio::co_spawn(ex, load_subtree(db, post, tokens), asio::deferred));
  std::vector<Op> ops;
  ops.reserve(post.replies.size());
  for (Post& reply : post.replies)
    ops.push_back(asio::co_spawn(ex, load_subtree(db, reply, tokens), asio::deferred));
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(ops))
                             .async_wait(asio::experimental::wait_for_all(), asio::deferred);
  for (std::size_t i : order)
    if (errors[i]) std::rethrow_exception(errors[i]);
}

}  // namespace

asio::awaitable<Post> load_thread(mockdb::DatabaseService& db, mockdb::Id root, std::size_t limit) {
  require_a_limit(limit);
  std::optional<Post> thread = co_await fetch_post(db, root);
  if (!thread) throw NoSuchPost(root);
  Tokens tokens(co_await asio::this_coro::executor, limit);
  co_await load_subtree(db, *thread, tokens);
  co_return std::move(*thread);
}

}  // namespace ch13
