// Chapter 13 — async recursion.
//
// A forum shows a post with every reply under it: replies to replies, at any
// depth. Each post is a row of the "posts" table that names the post it
// replies to ("parent"), so the tree is found one level at a time: the
// replies of a post are one query, and only once they are in does the loader
// know whose replies to ask for next. The pitfall (chapters/) and the fix
// (solutions/) define load_thread() in a file of the same name; this header
// is their shared interface.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "mockdb/database.hpp"

namespace ch13 {

/// The table the posts live in.
inline constexpr const char* kPostsTable = "posts";

/// One post, with the replies under it.
struct Post {
  mockdb::Id id = 0;          ///< The post's id.
  mockdb::Id parent = 0;      ///< The post it replies to; 0 for a post that opens a thread.
  std::string text;           ///< What it says.
  std::vector<Post> replies;  ///< Its direct replies, in id order, each with its own replies.
};

/// Thrown by load_thread() when there is no post with the id asked for.
class NoSuchPost : public std::runtime_error {
 public:
  explicit NoSuchPost(mockdb::Id id)
      : std::runtime_error("there is no post " + std::to_string(id)), id_(id) {}
  /// The id that was asked for.
  mockdb::Id id() const noexcept { return id_; }

 private:
  mockdb::Id id_;
};

/// Loads the post `root` and every reply under it, at any depth: the tree
/// that a page showing `root` draws. `root` may be any post, a reply too.
///
/// Reads `root` once with fetch_post() and fetches the replies of each post
/// of the tree once with fetch_replies() (a leaf's too: only the query says
/// it has none). A reply's replies can be asked for only once it has been
/// found, so the tree takes at least one query latency per level; it must
/// take no more than that, plus the read: the replies of every post of a
/// level are fetched at the same time, with at most `limit` queries in
/// flight at once (each holds one of the database's connections). With a
/// level wider than `limit`, that level takes one latency per `limit` posts.
///
/// Every post appears once, under its parent, with its replies in id order.
///
/// Failures: NoSuchPost if there is no post `root`. If the read or any query
/// fails, the whole load fails with that mockdb::DatabaseError: there is no
/// partial tree. It is thrown once every query the call started has ended
/// (completed, or cancelled and waited for): no query is left running when
/// load_thread() returns or throws, so the caller may destroy `db` at once.
/// A failed load goes no further: after a read or query has failed, it asks
/// for the replies of no post found after that failure (the queries already
/// running may end, and the posts of a level known before it may still be
/// fetched; cancelling them instead is right too). The read of `root` and the query for its replies
/// may run together, since both need only the id: if the read fails or finds
/// nothing, that query must have ended before the load throws.
/// `limit` must be at least 1: std::invalid_argument, thrown before anything
/// is read. Each call owns its progress: several calls may run on one loop.
boost::asio::awaitable<Post> load_thread(mockdb::DatabaseService& db, mockdb::Id root,
                                         std::size_t limit);

// ---- provided (posts.cpp) ----

/// Reads post `id` (one read), without its replies; std::nullopt if there is
/// none. A database error is thrown as it comes (mockdb::DatabaseError).
boost::asio::awaitable<std::optional<Post>> fetch_post(mockdb::DatabaseService& db, mockdb::Id id);

/// The direct replies of post `id` (one query), in id order, each without its
/// own replies; none for a leaf. A database error is thrown as it comes.
boost::asio::awaitable<std::vector<Post>> fetch_replies(mockdb::DatabaseService& db, mockdb::Id id);

/// Adds a post replying to `parent` (0: a new thread), with the text
/// "post <id>", and returns its id. Runs without latency if the database has
/// none set for create.
boost::asio::awaitable<mockdb::Id> add_post(mockdb::DatabaseService& db, mockdb::Id parent);

/// Adds a thread whose every post has `fanout` replies, `levels` levels deep
/// (levels = 1: the opening post alone), and returns the opening post's id.
boost::asio::awaitable<mockdb::Id> add_balanced_thread(mockdb::DatabaseService& db, int fanout,
                                                       int levels);

/// Adds a chain: a post, a reply to it, a reply to that, ... `levels` posts in
/// all. Returns the first one's id.
boost::asio::awaitable<mockdb::Id> add_chain(mockdb::DatabaseService& db, int levels);

/// The text add_post() gives post `id`: "post <id>".
std::string post_text(mockdb::Id id);

/// How many posts `tree` holds (itself included), and how many levels deep it
/// is (1 for a post without replies). Both recurse on the native stack, one
/// call per level, as ~Post does: fine for the chapter's threads, not for a
/// chain of a million posts (the lesson measures where that breaks).
std::size_t count_posts(const Post& tree) noexcept;
std::size_t count_levels(const Post& tree) noexcept;

}  // namespace ch13
