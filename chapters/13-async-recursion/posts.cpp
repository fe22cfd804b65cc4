// Chapter 13's provided building blocks: reading one post, fetching the
// replies of one post, and building sample threads. The pitfall and the fix
// both use them; the lesson is only about the order the fetches are made in.
#include <boost/json/value.hpp>
#include <string>
#include <utility>
#include <vector>

#include "reply_tree.hpp"

namespace ch13 {
namespace {

// A Post from its row, without replies.
Post from_row(const mockdb::Row& row) {
  Post post;
  post.id = row.at("id").to_number<mockdb::Id>();
  post.parent = row.at("parent").to_number<mockdb::Id>();
  post.text = std::string(row.at("text").as_string());
  return post;
}

}  // namespace

std::string post_text(mockdb::Id id) { return "post " + std::to_string(id); }

boost::asio::awaitable<std::optional<Post>> fetch_post(mockdb::DatabaseService& db, mockdb::Id id) {
  const std::optional<mockdb::Row> row = co_await db.read(kPostsTable, id);
  if (!row) co_return std::nullopt;
  co_return from_row(*row);
}

boost::asio::awaitable<std::vector<Post>> fetch_replies(mockdb::DatabaseService& db,
                                                        mockdb::Id id) {
  mockdb::Params params{boost::json::value(id)};
  const mockdb::Rows rows =
      co_await db.query("SELECT * FROM posts WHERE parent = $1 ORDER BY id", std::move(params));
  std::vector<Post> replies;
  replies.reserve(rows.size());
  for (const mockdb::Row& row : rows) replies.push_back(from_row(row));
  co_return replies;
}

boost::asio::awaitable<mockdb::Id> add_post(mockdb::DatabaseService& db, mockdb::Id parent) {
  mockdb::Row row;
  row["parent"] = parent;
  row["text"] = "";
  const mockdb::Id id = co_await db.create(kPostsTable, std::move(row));
  mockdb::Row text;
  text["text"] = post_text(id);
  co_await db.update(kPostsTable, id, std::move(text));
  co_return id;
}

boost::asio::awaitable<mockdb::Id> add_balanced_thread(mockdb::DatabaseService& db, int fanout,
                                                       int levels) {
  const mockdb::Id root = co_await add_post(db, 0);
  std::vector<mockdb::Id> level{root};
  for (int depth = 1; depth < levels; ++depth) {
    std::vector<mockdb::Id> next;
    for (const mockdb::Id parent : level) {
      for (int i = 0; i < fanout; ++i) next.push_back(co_await add_post(db, parent));
    }
    level = std::move(next);
  }
  co_return root;
}

boost::asio::awaitable<mockdb::Id> add_chain(mockdb::DatabaseService& db, int levels) {
  const mockdb::Id root = co_await add_post(db, 0);
  mockdb::Id last = root;
  for (int depth = 1; depth < levels; ++depth) last = co_await add_post(db, last);
  co_return root;
}

std::size_t count_posts(const Post& tree) noexcept {
  std::size_t posts = 1;
  for (const Post& reply : tree.replies) posts += count_posts(reply);
  return posts;
}

std::size_t count_levels(const Post& tree) noexcept {
  std::size_t below = 0;
  for (const Post& reply : tree.replies) {
    const std::size_t levels = count_levels(reply);
    if (levels > below) below = levels;
  }
  return below + 1;
}

}  // namespace ch13
