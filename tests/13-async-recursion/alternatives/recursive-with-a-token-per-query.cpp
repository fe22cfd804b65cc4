// RIGHT: recursion, every reply's subtree at once; a token of the limit is held per query only.
//
// load_below() fetches a post's replies, then loads the subtree of every
// reply at once (a parallel group of recursive calls) and returns when all
// have. The limit is a channel of `limit` tokens shared by the whole load: a
// query sends a token before it starts (waiting while `limit` are out) and
// takes it back when it ends. A token is never held while a post waits for
// its replies' subtrees: those need tokens of their own, and a thread deeper
// than the limit would deadlock. The queries of a level may now overlap with
// those of the next, so a level does not wait for the slowest post of the
// one above (greedy rather than level by level); every post's subtree still
// starts the moment its replies are in. The group waits with
// wait_for_one_error(): the first failure cancels the other subtrees (their
// queries, or their wait for a token), so a failed load goes no further, and
// the group still waits for every one of them to end before it rethrows.
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
  auto [order, errors] =
      co_await asio::experimental::make_parallel_group(std::move(subtrees))
          .async_wait(asio::experimental::wait_for_one_error(), asio::use_awaitable);
  for (const std::size_t i : order) {  // the first failure, not the cancellations it caused
    if (errors[i]) std::rethrow_exception(errors[i]);  // every subtree has ended by now
  }
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
