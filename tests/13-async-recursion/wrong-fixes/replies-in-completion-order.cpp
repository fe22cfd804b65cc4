// WRONG: each post's replies are put in the order their subtrees finished loading, not id order.
// expect: came in the order
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <exception>
#include <stdexcept>
#include <utility>

#include "reply_tree.hpp"

namespace ch13 {

namespace asio = boost::asio;

namespace {

using Tokens = asio::experimental::channel<void(boost::system::error_code)>;

// Gives a token back when the query that took it ends, however it ends.
class Token {
 public:
  explicit Token(Tokens& tokens) noexcept : tokens_(tokens) {}
  Token(const Token&) = delete;
  Token& operator=(const Token&) = delete;
  ~Token() {
    tokens_.try_receive([](boost::system::error_code) {});
  }

 private:
  Tokens& tokens_;
};

// One query under the limit.
asio::awaitable<std::vector<Post>> fetch_under_limit(mockdb::DatabaseService& db, mockdb::Id id,
                                                     Tokens& tokens) {
  co_await tokens.async_send(boost::system::error_code{}, asio::use_awaitable);
  const Token token(tokens);
  co_return co_await fetch_replies(db, id);
}

// Fills in the replies under `post`, every reply's subtree at once. `post`
// and `tokens` are borrowed: the caller awaits this before it lets go of them.
asio::awaitable<void> load_below(mockdb::DatabaseService& db, Post& post, Tokens& tokens) {
  post.replies = co_await fetch_under_limit(db, post.id, tokens);
  if (post.replies.empty()) co_return;
  const auto ex = co_await asio::this_coro::executor;
  using Subtree = decltype(asio::co_spawn(ex, load_below(db, post, tokens), asio::deferred));
  std::vector<Subtree> subtrees;
  subtrees.reserve(post.replies.size());
  for (Post& reply : post.replies) {
    subtrees.push_back(asio::co_spawn(ex, load_below(db, reply, tokens), asio::deferred));
  }
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(subtrees))
                             .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);  // every subtree has ended by now
  }
  std::vector<Post> loaded;  // the replies as their subtrees came in
  loaded.reserve(post.replies.size());
  for (const std::size_t i : order) loaded.push_back(std::move(post.replies[i]));
  post.replies = std::move(loaded);
}

}  // namespace

asio::awaitable<Post> load_thread(mockdb::DatabaseService& db, mockdb::Id root, std::size_t limit) {
  if (limit == 0) throw std::invalid_argument("a limit of 0 queries in flight would load nothing");
  std::optional<Post> thread = co_await fetch_post(db, root);
  if (!thread) throw NoSuchPost(root);
  Tokens tokens(co_await asio::this_coro::executor, limit);
  co_await load_below(db, *thread, tokens);
  co_return std::move(*thread);
}

}  // namespace ch13
