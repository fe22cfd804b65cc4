// Chapter 13's test, built against the pitfall and against the fix.
//
// Queries and reads of 10 ms each (L), in virtual time. A thread is loaded one
// level at a time: the read of its opening post, then the replies of every
// post of a level together, so it takes (1 + levels) x L when every level
// fits under the limit, and a level of W posts takes ceil(W / limit) x L when
// it does not. The pitfall fetches the replies of one post after another, so
// it takes (1 + posts) x L: the same as the fix on a chain (where every level
// is one post), forty latencies instead of five on a balanced thread of 40.
//
// What must hold, for every tree (balanced, a deep chain, a wide star, an
// unbalanced one, a single post, a subtree of a reply) and limit:
//  - every post appears once, under its parent, with its text, and the
//    replies of each post come in id order (not the order they completed);
//  - one read and one query per post (each post's replies fetched once);
//  - never more queries in flight than the limit; no level waits longer than
//    its width needs, so it takes at most the time above; no slot sits idle
//    while a post of the level waits (queries of uneven length, 1 or 40 ms);
//  - a missing post is NoSuchPost; a failed read or query fails the whole
//    load with that DatabaseError, and no query is left running when it
//    throws (nor when it returns), nor started for a post found after the
//    failure; a limit of 0 is invalid_argument;
//  - it completes whatever the limit and the depth (a chain of 2,500 posts) (a bound held across a
//    recursive wait deadlocks: the watchdog and NeverCompleted turn that into
//    a message); two loads on one loop each get their own tree.
// The gallery in wrong-fixes/ is what these checks are written against.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <cstddef>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mockdb/errors.hpp"
#include "mockdb/mock_database.hpp"
#include "reply_tree.hpp"
#include "workbook/clock.hpp"
#include "workbook/format.hpp"
#include "workbook/run.hpp"
#include "workbook/timer.hpp"
#include "workbook/watchdog.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ch13::Post;
using mockdb::Id;
using mockdb::OpKind;
using workbook::format;

namespace {

constexpr auto kLatency = 10ms;
constexpr std::size_t kMaxReported = 5;  // shape mistakes reported per load
// The deep chain: ~Post and count_posts() recurse once per level on the
// native stack, a few hundred bytes each (more under AddressSanitizer); a
// recursive loader (a parallel group per post) completes its levels nested
// on the native stack too, and overflows 8 MiB between 5,000 and 7,000.
constexpr int kDeepChain = 2500;

// "5, 3, 4" for a list of ids.
std::string join(const std::vector<Id>& ids) {
  std::string text;
  for (const Id id : ids) text += (text.empty() ? "" : ", ") + std::to_string(id);
  return text;
}

// What one call of load_thread() did, seen from outside.
struct Load {
  std::string what;                  // "load_thread() of a balanced thread ..., limit 64"
  Id root = 0;                       // the post asked for
  std::size_t limit = 0;             // the limit passed
  std::optional<Post> tree;          // what it returned; empty if it threw or never completed
  std::exception_ptr thrown;         // what it threw
  std::string never_completed;       // NeverCompleted's message, if it never ended
  workbook::Clock::duration took{};  // until it returned or threw, in virtual time
  std::size_t left_in_flight = 0;    // operations still running at that moment
  std::size_t max_in_flight = 0;     // the most queries running at once
  std::uint64_t queries = 0;         // queries started
  std::uint64_t reads = 0;           // reads started
  std::uint64_t failed = 0;          // operations that failed (too many connections, say)

  bool returned() const { return tree.has_value(); }
};

// A database in front of the mock that watches every query for the replies
// of a post: when it started and ended, and how many ran at once. It can
// give each post's query a latency of its own (the mock's query latency is
// then none), and fail the query of one post 1 ms after it is asked (a
// connection reset before the reply came back), while the other queries of
// its level are still in flight. Reads and writes go to the mock as they are.
class WatchedDatabase final : public mockdb::DatabaseService {
 public:
  struct Event {
    workbook::Clock::time_point at;
    Id post;
    bool start;  // false: the query ended (however it ended)
  };

  explicit WatchedDatabase(mockdb::MockDatabase& inner) : inner_(inner) {}

  void fail_query_of(Id post) { failing_ = post; }
  void set_query_latency(Id post, workbook::Clock::duration latency) { latency_[post] = latency; }
  // Answers every read and query itself from `posts` (rows of the posts
  // table), in the next turn of the loop, instead of the mock, which scans the
  // whole table for each query (a deep chain costs the square of its length
  // there) and counts and traces every operation. reads() counts the reads.
  void answer_from(const std::vector<mockdb::Row>& posts) {
    Index index;
    for (const mockdb::Row& row : posts) {
      const Id id = row.at("id").to_number<Id>();
      index.posts[id] = row;
      index.replies[row.at("parent").to_number<Id>()].push_back(row);
    }
    index_ = std::move(index);
  }
  std::size_t reads() const { return reads_; }
  std::size_t queries() const {
    return static_cast<std::size_t>(
        std::count_if(events_.begin(), events_.end(), [](const Event& e) { return e.start; }));
  }

  const std::vector<Event>& events() const { return events_; }
  std::size_t max_in_flight() const { return max_in_flight_; }
  std::size_t in_flight() const { return in_flight_; }
  // When the failing query failed; nullopt if it never did.
  std::optional<workbook::Clock::time_point> failed_at() const { return failed_at_; }

  asio::awaitable<std::unique_ptr<mockdb::Connection>> connect() override {
    return inner_.connect();
  }
  asio::awaitable<Id> create(std::string table, mockdb::Row row) override {
    return inner_.create(std::move(table), std::move(row));
  }
  asio::awaitable<std::optional<mockdb::Row>> read(std::string table, Id id) override {
    if (!index_) co_return co_await inner_.read(std::move(table), id);
    ++reads_;
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    const auto found = index_->posts.find(id);
    if (found == index_->posts.end()) co_return std::nullopt;
    co_return found->second;
  }
  asio::awaitable<bool> update(std::string table, Id id, mockdb::Row fields) override {
    return inner_.update(std::move(table), id, std::move(fields));
  }
  asio::awaitable<bool> remove(std::string table, Id id) override {
    return inner_.remove(std::move(table), id);
  }
  asio::awaitable<mockdb::Rows> query(std::string sql, mockdb::Params params) override {
    const Id post = !params.empty() && params.front().is_int64() ? params.front().as_int64() : 0;
    const Running running(*this, post);
    if (post != 0 && post == failing_) {
      co_await workbook::sleep_for(1ms);
      failed_at_ = workbook::Clock::now();
      mockdb::throw_database_error(mockdb::Errc::connection_reset,
                                   "the test reset the connection of this query");
    }
    const auto latency = latency_.find(post);
    if (latency != latency_.end()) co_await workbook::sleep_for(latency->second);
    if (index_) {
      co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
      const auto found = index_->replies.find(post);
      co_return found == index_->replies.end() ? mockdb::Rows{} : found->second;
    }
    co_return co_await inner_.query(std::move(sql), std::move(params));
  }

 private:
  // Counts one query from its start to its end, however it ends.
  class Running {
   public:
    Running(WatchedDatabase& db, Id post) : db_(db), post_(post) {
      db_.events_.push_back({workbook::Clock::now(), post_, true});
      db_.max_in_flight_ = std::max(db_.max_in_flight_, ++db_.in_flight_);
    }
    Running(const Running&) = delete;
    Running& operator=(const Running&) = delete;
    ~Running() {
      --db_.in_flight_;
      db_.events_.push_back({workbook::Clock::now(), post_, false});
    }

   private:
    WatchedDatabase& db_;
    Id post_;
  };

  mockdb::MockDatabase& inner_;
  Id failing_ = 0;
  std::map<Id, workbook::Clock::duration> latency_;
  std::vector<Event> events_;
  std::size_t in_flight_ = 0;
  std::size_t max_in_flight_ = 0;
  std::optional<workbook::Clock::time_point> failed_at_;
  struct Index {
    std::map<Id, mockdb::Row> posts;     // by id
    std::map<Id, mockdb::Rows> replies;  // by parent, in id order
  };
  std::optional<Index> index_;
  std::size_t reads_ = 0;
};

class AsyncRecursion : public testing::Test {
 protected:
  // Makes every later read and query take kLatency, and forgets the set-up.
  void ready() {
    db.set_latency(OpKind::read, mockdb::Latency::fixed(kLatency));
    db.set_latency(OpKind::query, mockdb::Latency::fixed(kLatency));
    db.reset_stats();
    db.trace().clear();
  }

  Id build(asio::awaitable<Id> thread) {
    return workbook::run_to_completion(ctx, std::move(thread), "adding the thread");
  }

  // Adds a post replying to `parent`, without latency.
  Id add(Id parent) { return build(ch13::add_post(db, parent)); }

  // Runs load_thread(db_used, root, limit) to its end and observes it. A
  // watchdog turns a thread blocked for good into a report instead of a hang;
  // a loop that runs out of work first (a load waiting for something no one
  // will do) is NeverCompleted, kept as the load's own finding.
  Load load(const std::string& what, Id root, std::size_t limit,
            mockdb::DatabaseService* db_used = nullptr) {
    db.reset_stats();
    Load seen;
    seen.what = format("load_thread() of %s, limit %zu", what.c_str(), limit);
    seen.root = root;
    seen.limit = limit;
    mockdb::DatabaseService& target = db_used != nullptr ? *db_used : db;
    {
      workbook::Watchdog watchdog(5s, seen.what);
      try {
        workbook::run_to_completion(ctx, observe(target, seen), seen.what);
      } catch (const workbook::NeverCompleted& e) {
        seen.never_completed = e.what();
      }
    }
    note_stats(seen);
    return seen;
  }

  void note_stats(Load& seen) const {
    const mockdb::Stats stats = db.stats();
    seen.max_in_flight = stats[OpKind::query].max_in_flight;
    seen.queries = stats[OpKind::query].started;
    seen.reads = stats[OpKind::read].started;
  }

  // Awaits one load and writes down what it did the moment it ended. `seen`
  // is borrowed only because load() runs this to its end first.
  asio::awaitable<void> observe(mockdb::DatabaseService& target, Load& seen) {
    const auto start = workbook::Clock::now();
    try {
      seen.tree.emplace(co_await ch13::load_thread(target, seen.root, seen.limit));
    } catch (...) {
      seen.thrown = std::current_exception();
    }
    seen.took = workbook::Clock::now() - start;
    seen.left_in_flight = db.stats().total.in_flight;
    seen.failed = db.stats().total.failed;
  }

  // The replies of every post, from the database itself (no latency), in id
  // order: what a correct load must find.
  std::map<Id, std::vector<Id>> replies_in_database() const {
    std::map<Id, std::vector<Id>> replies;
    const std::size_t posts = db.count(ch13::kPostsTable);
    for (Id id = 1; id <= static_cast<Id>(posts); ++id) {
      const auto row = db.peek(ch13::kPostsTable, id);
      if (row) replies[row->at("parent").to_number<Id>()].push_back(id);
    }
    return replies;
  }

  // How many posts each level of the thread under `root` has, from the
  // database: {1, 3, 9, 27} for a balanced thread of fanout 3.
  std::vector<std::size_t> widths(Id root) const {
    const auto replies = replies_in_database();
    std::vector<std::size_t> widths;
    std::vector<Id> level{root};
    while (!level.empty()) {
      widths.push_back(level.size());
      std::vector<Id> below;
      for (const Id id : level) {
        const auto found = replies.find(id);
        if (found != replies.end())
          below.insert(below.end(), found->second.begin(), found->second.end());
      }
      level = std::move(below);
    }
    return widths;
  }

  // Fails the test unless the load returned, without leaving anything
  // running behind it; says what it did instead.
  bool expect_returned(const Load& seen) const {
    if (!seen.never_completed.empty()) {
      ADD_FAILURE() << seen.what << " never completed: the loop ran out of work while it was "
                    << "still waiting, after " << seen.queries << " queries.\nIt awaits "
                    << "something that nothing left on the loop will ever give. Two causes "
                    << "give this, and the report below cannot tell them apart: (1) a timer "
                    << "that is not on the workbook clock (a plain asio::steady_timer waits "
                    << "for real time, and the test's time is virtual: use workbook::Timer or "
                    << "workbook::sleep_for, or better, no polling at all); (2) something "
                    << "that only a part of the load that is itself waiting can give: a "
                    << "token of the limit held while a post waits for its replies' "
                    << "subtrees, say, which deadlocks once the thread is deeper than the "
                    << "limit. Hold a token only around the query itself.\n("
                    << seen.never_completed << ")";
      return false;
    }
    if (seen.thrown) {
      std::string message = "an exception that is not a std::exception";
      try {
        std::rethrow_exception(seen.thrown);
      } catch (const std::exception& e) {
        message = e.what();
      } catch (...) {
      }
      ADD_FAILURE() << seen.what << " threw \"" << message << "\" after "
                    << workbook::to_ms(seen.took) << " ms, with " << seen.max_in_flight
                    << " queries in flight at most and " << seen.failed
                    << " operations failed (each query holds a connection; the database has "
                       "100); expected the thread.";
      return false;
    }
    if (seen.left_in_flight != 0) {
      ADD_FAILURE() << format(
          "%s returned after %.0f ms while %zu operations were still in "
          "flight; expected every query it started to have ended.\nA "
          "query spawned with `detached` reports to nobody, and a sleep "
          "only guesses how long queries take: wait for the queries "
          "themselves.",
          seen.what.c_str(), workbook::to_ms(seen.took), seen.left_in_flight);
      return false;
    }
    return true;
  }

  // Fails the test unless the tree returned is the thread in the database:
  // every post once, under its parent, with its text, replies in id order.
  void expect_shape(const Load& seen) const {
    const auto replies = replies_in_database();
    const auto expected_parent = db.peek(ch13::kPostsTable, seen.root);
    ASSERT_TRUE(expected_parent) << "the test asked for a post that it did not add";
    const Post& tree = *seen.tree;
    std::size_t mistakes = 0;
    auto report = [&](const std::string& mistake) {
      if (mistakes++ < kMaxReported) ADD_FAILURE() << seen.what << ": " << mistake;
    };
    if (tree.id != seen.root)
      report(format("returned post %lld at the top; expected post %lld",
                    static_cast<long long>(tree.id), static_cast<long long>(seen.root)));
    if (tree.parent != expected_parent->at("parent").to_number<Id>()) {
      report(format("post %lld says it replies to %lld; the database says %lld",
                    static_cast<long long>(tree.id), static_cast<long long>(tree.parent),
                    static_cast<long long>(expected_parent->at("parent").to_number<Id>())));
    }
    // Walks the tree without recursion (a chain can be deep).
    std::vector<const Post*> todo{&tree};
    std::size_t found = 0;
    while (!todo.empty()) {
      const Post& post = *todo.back();
      todo.pop_back();
      ++found;
      if (post.text != ch13::post_text(post.id)) {
        report(format(R"(post %lld has the text "%s"; expected "%s")",
                      static_cast<long long>(post.id), post.text.c_str(),
                      ch13::post_text(post.id).c_str()));
      }
      std::vector<Id> got;
      for (const Post& reply : post.replies) {
        got.push_back(reply.id);
        if (reply.parent != post.id) {
          report(format("post %lld is under post %lld but replies to %lld",
                        static_cast<long long>(reply.id), static_cast<long long>(post.id),
                        static_cast<long long>(reply.parent)));
        }
        todo.push_back(&reply);
      }
      const auto in_db = replies.find(post.id);
      const std::vector<Id> want = in_db == replies.end() ? std::vector<Id>{} : in_db->second;
      if (got == want) continue;
      std::vector<Id> sorted = got;
      std::sort(sorted.begin(), sorted.end());
      if (sorted == want) {
        report(
            format("the replies of post %lld came in the order %s; expected id order, %s, as "
                   "load_thread() promises.\nThat is the order their loads completed in: "
                   "keep each post's replies in the order fetch_replies() gave them, and fill "
                   "in their own replies in place.",
                   static_cast<long long>(post.id), join(got).c_str(), join(want).c_str()));
      } else {
        report(format("post %lld has the replies %s in the database; the loaded thread has %s",
                      static_cast<long long>(post.id), join(want).c_str(),
                      got.empty() ? "none" : join(got).c_str()));
      }
    }
    std::size_t expected = 0;
    for (const std::size_t w : widths(seen.root)) expected += w;
    if (found != expected) {
      report(format("returned %zu posts; the thread has %zu (in %zu levels)", found, expected,
                    widths(seen.root).size()));
    }
  }

  // Fails the test unless the load made one read and one query per post,
  // kept to its limit, and took no longer than level by level allows.
  void expect_level_by_level(const Load& seen) const {
    const std::vector<std::size_t> w = widths(seen.root);
    std::size_t posts = 0;
    std::size_t latencies = 1;  // the read of the opening post
    for (const std::size_t width : w) {
      posts += width;
      latencies += (width + seen.limit - 1) / seen.limit;
    }
    if (seen.max_in_flight > seen.limit) {
      ADD_FAILURE() << format("%s had %zu queries in flight at once, over the limit of %zu",
                              seen.what.c_str(), seen.max_in_flight, seen.limit)
                    << ".\nEach query holds a connection: a level of ten thousand replies "
                       "fetched all at once asks for ten thousand. Fetch a level with at "
                       "most `limit` queries running (chapter 12's workers).";
    }
    if (seen.reads != 1 || seen.queries != posts) {
      ADD_FAILURE() << format(
          "%s made %llu reads and %llu queries for %zu posts; expected one "
          "read (the opening post) and one query per post (its replies)",
          seen.what.c_str(), static_cast<unsigned long long>(seen.reads),
          static_cast<unsigned long long>(seen.queries), posts);
    }
    const double one = workbook::to_ms(kLatency);
    const double took = workbook::to_ms(seen.took);
    const auto limit_reached = [&] {
      return std::any_of(w.begin(), w.end(), [&](std::size_t width) { return width > seen.limit; });
    };
    if (seen.took > latencies * kLatency) {
      ADD_FAILURE() << format(
                           "%s took %.0f ms = %.0f x L (L = %.0f ms, %zu posts in %zu levels); "
                           "the replies were not fetched level by level: expected at most %.0f ms "
                           "= %zu x L (the opening post's read, then %s)",
                           seen.what.c_str(), took, took / one, one, posts, w.size(),
                           static_cast<double>(latencies) * one, latencies,
                           limit_reached() ? "each level in one latency per `limit` of its posts"
                                           : "one query latency per level")
                    << ".\nA post's replies can be asked for only once the post is found, but "
                       "the posts of one level need not wait for each other: fetch the replies "
                       "of every post of a level at once, then go down to the replies found.";
    }
  }

  // Every check of a load that must succeed.
  void expect_loaded(const Load& seen) const {
    if (!expect_returned(seen)) return;
    expect_shape(seen);
    expect_level_by_level(seen);
  }

  // A WatchedDatabase in front of db. It outlives ctx: a load that left a
  // query running behind it leaves a frame in ctx that still counts on it.
  WatchedDatabase& watched() { return watched_.emplace(db); }

  workbook::VirtualTime time;
  std::optional<WatchedDatabase> watched_;
  asio::io_context ctx;
  mockdb::MockDatabase db;  // the default connection limit: 100
};

TEST_F(AsyncRecursion, ABalancedThreadTakesOneLatencyPerLevel) {
  const Id root = build(ch13::add_balanced_thread(db, 3, 4));  // 1 + 3 + 9 + 27 posts
  ready();
  expect_loaded(load("a thread of 40 posts, 3 replies each, 4 levels", root, 64));
}

TEST_F(AsyncRecursion, AnUnbalancedThreadTakesOneLatencyPerLevel) {
  // Post 1's first reply opens a branch five levels deep; its other replies
  // have a few replies each, or none.
  const Id root = add(0);
  Id deep = add(root);
  for (int i = 0; i < 4; ++i) deep = add(deep);
  for (int r = 0; r < 4; ++r) {
    const Id reply = add(root);
    for (int i = 0; i < r; ++i) add(reply);
  }
  ready();
  expect_loaded(load("an unbalanced thread of 16 posts, 6 levels", root, 16));
}

TEST_F(AsyncRecursion, ADeepChainLoadsEveryLevel) {
  const Id root = build(ch13::add_chain(db, 600));
  ready();
  expect_loaded(load("a chain of 600 posts, each a reply to the one before", root, 4));
}

TEST_F(AsyncRecursion, AWideThreadKeepsToTheLimit) {
  const Id root = add(0);
  for (int i = 0; i < 250; ++i) add(root);
  ready();
  expect_loaded(load("a post with 250 replies", root, 8));
}

TEST_F(AsyncRecursion, EveryLimitIsKeptAndUsed) {
  // 1 + 4 + 16 + 64 posts: levels narrower and wider than each limit.
  const Id root = build(ch13::add_balanced_thread(db, 4, 4));
  ready();
  for (const std::size_t limit : {1, 2, 3, 5, 16, 64, 100}) {
    SCOPED_TRACE(format("limit %zu", limit));
    expect_loaded(load("a thread of 85 posts, 4 replies each, 4 levels", root, limit));
  }
}

TEST_F(AsyncRecursion, ASinglePostIsAThreadWithoutReplies) {
  const Id other = build(ch13::add_balanced_thread(db, 2, 3));
  const Id alone = add(0);
  ready();
  const Load seen = load("a post without replies", alone, 8);
  expect_loaded(seen);
  const Load leaf = load("a reply without replies", other + 3, 8);
  expect_loaded(leaf);
}

TEST_F(AsyncRecursion, ALoadOfAReplyIsItsSubtree) {
  // Post 2 is the first reply of post 1, with replies of its own; its
  // sibling's replies are not under it.
  const Id root = build(ch13::add_balanced_thread(db, 3, 4));
  ready();
  expect_loaded(load("reply 2 of a thread of 40 posts", root + 1, 8));
}

TEST_F(AsyncRecursion, RepliesComeInIdOrderWhateverOrderTheyCompleteIn) {
  // The first replies have the deepest subtrees, and queries take from 1 to
  // 20 ms: a reply whose subtree is loaded first is rarely the first reply.
  const Id root = add(0);
  std::vector<Id> replies;
  replies.reserve(5);
  for (int r = 0; r < 5; ++r) replies.push_back(add(root));
  for (int r = 0; r < 5; ++r) {
    Id under = replies[static_cast<std::size_t>(r)];
    for (int depth = 0; depth < 5 - r; ++depth) {
      add(under);
      under = add(under);
    }
  }
  ready();
  db.set_latency(OpKind::query, mockdb::Latency::uniform(1ms, 20ms));
  const Load seen = load("a thread of 36 posts, queries of 1 to 20 ms", root, 64);
  if (!expect_returned(seen)) return;
  expect_shape(seen);
  const std::size_t levels = widths(root).size();
  if (seen.took > kLatency + levels * 20ms) {
    ADD_FAILURE() << format(
        "%s took %.0f ms; expected at most %.0f ms: the read, then at most 20 ms per "
        "level (%zu levels)",
        seen.what.c_str(), workbook::to_ms(seen.took), workbook::to_ms(kLatency + levels * 20ms),
        levels);
  }
}

TEST_F(AsyncRecursion, AWideLevelOfUnevenQueriesKeepsEverySlotBusy) {
  // Post 1 has 16 replies, fetched 4 at a time. Every fourth reply's query
  // takes 40 ms, the others 1 ms: a slot freed by a quick query must be
  // given the next reply at once, not when the slowest of its group ends.
  const Id root = add(0);
  std::vector<Id> replies;
  replies.reserve(16);
  for (int r = 0; r < 16; ++r) replies.push_back(add(root));
  ready();
  db.set_latency(OpKind::query, mockdb::Latency::none());
  WatchedDatabase& uneven = watched();
  uneven.set_query_latency(root, kLatency);
  for (std::size_t r = 0; r < replies.size(); ++r)
    uneven.set_query_latency(replies[r], r % 4 == 0 ? 40ms : 1ms);
  constexpr std::size_t kLimit = 4;
  const Load seen =
      load("a post with 16 replies whose queries take 1 or 40 ms", root, kLimit, &uneven);
  if (!expect_returned(seen)) return;
  expect_shape(seen);
  if (uneven.max_in_flight() > kLimit) {
    ADD_FAILURE() << format("%s had %zu queries in flight at once, over the limit of %zu",
                            seen.what.c_str(), uneven.max_in_flight(), kLimit);
    return;
  }
  // After every instant: a slot is free while a reply (whose parent's
  // replies are all in) has not been asked about.
  const auto& events = uneven.events();
  std::vector<Id> waiting = replies;
  bool root_done = false;
  std::size_t running = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    if (e.start) {
      ++running;
      waiting.erase(std::remove(waiting.begin(), waiting.end(), e.post), waiting.end());
    } else {
      --running;
      if (e.post == root) root_done = true;
    }
    const bool last_at_this_instant = i + 1 == events.size() || events[i + 1].at != e.at;
    if (!last_at_this_instant || !root_done || waiting.empty() || running >= kLimit) continue;
    const auto at = e.at - events.front().at;
    ADD_FAILURE() << format(
        "%s: at %.0f ms (from its first query), %zu of %zu slots sat idle while %zu "
        "replies were waiting to be asked about (the next: post %lld); it took %.0f ms, "
        "where keeping every slot busy takes about %.0f ms.\nThat is fetching a level in "
        "groups of `limit`, each waiting for its slowest query before the next starts. "
        "Give a freed slot the next post at once: `limit` workers that each take the next "
        "post of the level nobody has taken, until none is left.",
        seen.what.c_str(), workbook::to_ms(at), kLimit - running, kLimit, waiting.size(),
        static_cast<long long>(waiting.front()), workbook::to_ms(seen.took),
        workbook::to_ms(2 * kLatency + 46ms));
    break;
  }
}

TEST_F(AsyncRecursion, AChainOfThousandsOfPostsLoadsEveryLevel) {
  // Without latency, so that the depth costs nothing but the loading itself:
  // any cap on the depth cuts this chain short.
  // The chain is served by the WatchedDatabase alone (posts 1 to kDeepChain,
  // each replying to the one before): the mock is not involved.
  const Id root = 1;
  std::vector<mockdb::Row> chain;
  chain.reserve(static_cast<std::size_t>(kDeepChain));
  for (Id id = root; id < root + kDeepChain; ++id) {
    mockdb::Row row;
    row["id"] = id;
    row["parent"] = id == root ? 0 : id - 1;
    row["text"] = ch13::post_text(id);
    chain.push_back(std::move(row));
  }
  WatchedDatabase& indexed = watched();
  indexed.answer_from(chain);
  const Load seen =
      load(format("a chain of %d posts, without latency", kDeepChain), root, 4, &indexed);
  if (!expect_returned(seen)) return;
  std::size_t found = 0;
  std::size_t parted = 0;  // posts with other than one reply, the last one apart
  for (const Post* post = &*seen.tree; post != nullptr;
       post = post->replies.empty() ? nullptr : &post->replies.front()) {
    ++found;
    if (post->replies.size() > 1) ++parted;
  }
  if (found != static_cast<std::size_t>(kDeepChain) || parted != 0) {
    ADD_FAILURE() << format(
        "%s returned %zu levels; the chain has %d.\nA thread is as deep as its readers "
        "made it: do not stop at a depth \"to be safe\". Going down level by level needs "
        "no stack of its own (the coroutine frames are on the heap), so nothing limits "
        "the depth.",
        seen.what.c_str(), found, kDeepChain);
  }
  if (indexed.queries() != static_cast<std::size_t>(kDeepChain) || indexed.reads() != 1) {
    ADD_FAILURE() << format(
        "%s made %zu reads and %zu queries; expected one read and one query per post "
        "(%d)",
        seen.what.c_str(), indexed.reads(), indexed.queries(), kDeepChain);
  }
}

TEST_F(AsyncRecursion, AMissingPostIsNoSuchPost) {
  build(ch13::add_balanced_thread(db, 2, 3));
  ready();
  const Load seen = load("post 99, which does not exist", 99, 8);
  if (seen.returned()) {
    ADD_FAILURE() << seen.what << " returned a thread (post " << seen.tree->id << " with "
                  << seen.tree->replies.size() << " replies) for a post that does not exist; "
                  << "expected ch13::NoSuchPost: a page must say \"no such post\", not show an "
                     "empty one.";
    return;
  }
  if (!seen.never_completed.empty()) {
    ADD_FAILURE() << seen.what << " never completed: " << seen.never_completed;
    return;
  }
  try {
    std::rethrow_exception(seen.thrown);
  } catch (const ch13::NoSuchPost& e) {
    if (e.id() != 99) {
      ADD_FAILURE() << seen.what << " threw NoSuchPost(" << e.id() << "); expected the id asked "
                    << "for, 99";
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << seen.what << " threw \"" << e.what() << "\"; expected ch13::NoSuchPost";
  }
  if (seen.left_in_flight != 0) {
    ADD_FAILURE() << format("%s threw while %zu operations were still in flight; expected none",
                            seen.what.c_str(), seen.left_in_flight);
  }
}

TEST_F(AsyncRecursion, AFailedQueryFailsTheLoadOnceEveryQueryHasEnded) {
  // Post 6 is the second post of the third level (1; 2, 3; 4, 5, 6, 7): its
  // query fails after 1 ms, while those of 4, 5 and 7 are still in flight.
  const Id root = build(ch13::add_balanced_thread(db, 2, 4));
  ready();
  WatchedDatabase& failing = watched();
  failing.fail_query_of(root + 5);
  const Load seen = load("a thread of 15 posts whose query for post 6 fails", root, 8, &failing);
  if (!seen.never_completed.empty()) {
    ADD_FAILURE() << seen.what << " never completed: " << seen.never_completed;
    return;
  }
  if (seen.returned()) {
    ADD_FAILURE() << format(
        "%s returned a thread of %zu posts although the query for the "
        "replies of post 6 failed with connection_reset; expected that "
        "DatabaseError: a tree with a hole in it looks complete to the page "
        "that shows it. Let the error through.",
        seen.what.c_str(), ch13::count_posts(*seen.tree));
    return;
  }
  try {
    std::rethrow_exception(seen.thrown);
  } catch (const boost::system::system_error& e) {
    if (e.code() != mockdb::Errc::connection_reset) {
      ADD_FAILURE() << seen.what << " threw \"" << e.what() << "\" (" << e.code().message()
                    << "); expected the query's own error, connection_reset";
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << seen.what << " threw \"" << e.what()
                  << "\"; expected the query's DatabaseError (connection_reset)";
  }
  if (seen.left_in_flight != 0) {
    ADD_FAILURE() << format(
        "%s threw after %.0f ms while %zu queries were still in flight; expected every "
        "query it started to have ended (completed, or cancelled and waited for) before "
        "it throws: the caller may destroy the database at once.",
        seen.what.c_str(), workbook::to_ms(seen.took), seen.left_in_flight);
  }
  // No query for a post found after the failure: the load stops going down.
  if (!failing.failed_at()) return;
  const auto failed_at = *failing.failed_at();
  std::map<Id, workbook::Clock::time_point> found_at;  // when each post's parent's query ended
  std::map<Id, Id> parent_of;
  for (const auto& [parent, replies] : replies_in_database()) {
    for (const Id reply : replies) parent_of[reply] = parent;
  }
  std::vector<std::string> late;
  for (const WatchedDatabase::Event& e : failing.events()) {
    if (!e.start) {
      for (const auto& [reply, parent] : parent_of) {
        if (parent == e.post && !found_at.count(reply)) found_at[reply] = e.at;
      }
      continue;
    }
    const auto found = found_at.find(e.post);
    if (e.at >= failed_at && found != found_at.end() && found->second > failed_at) {
      late.push_back(
          format("post %lld (found at %.0f ms, queried at %.0f ms)", static_cast<long long>(e.post),
                 workbook::to_ms(found->second - failed_at), workbook::to_ms(e.at - failed_at)));
    }
  }
  if (!late.empty()) {
    std::string listed;
    for (std::size_t i = 0; i < late.size() && i < kMaxReported; ++i)
      listed += (i == 0 ? "" : ", ") + late[i];
    ADD_FAILURE() << format(
        "%s went on loading the thread after the query for post 6 had failed: it asked "
        "for the replies of %zu posts found after the failure: %s (times from the "
        "failure); expected none.\nOnce a query has failed the load has failed: every "
        "query after that is work whose result is thrown away, holding a connection. "
        "Let the queries already running end (or cancel them), start no more, and throw.",
        seen.what.c_str(), late.size(), listed.c_str());
  }
}

TEST_F(AsyncRecursion, AFailedReadOfTheOpeningPostFailsTheLoad) {
  const Id root = build(ch13::add_balanced_thread(db, 2, 3));
  ready();
  db.fail_next(1, mockdb::Errc::connection_reset, OpKind::read);
  const Load seen = load("a thread whose opening post's read fails", root, 8);
  if (seen.returned()) {
    ADD_FAILURE() << seen.what << " returned a thread although its read failed with "
                  << "connection_reset; expected that DatabaseError.";
    return;
  }
  if (!seen.never_completed.empty()) {
    ADD_FAILURE() << seen.what << " never completed: " << seen.never_completed;
    return;
  }
  try {
    std::rethrow_exception(seen.thrown);
  } catch (const boost::system::system_error& e) {
    if (e.code() != mockdb::Errc::connection_reset) {
      ADD_FAILURE() << seen.what << " threw \"" << e.what()
                    << "\"; expected the read's own error, connection_reset";
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << seen.what << " threw \"" << e.what() << "\"; expected connection_reset";
  }
  // The read and the query for the opening post's replies may run together
  // (both need only the id); nothing below it may be asked for.
  if (seen.queries > 1) {
    ADD_FAILURE() << format(
        "%s made %llu queries although the opening post could not be read; expected at "
        "most one (its own replies, asked for together with the read): nothing below it "
        "can be known.",
        seen.what.c_str(), static_cast<unsigned long long>(seen.queries));
  }
  if (seen.left_in_flight != 0) {
    ADD_FAILURE() << format(
        "%s threw while %zu operations were still in flight; expected every one it "
        "started to have ended before it throws.",
        seen.what.c_str(), seen.left_in_flight);
  }
}

TEST_F(AsyncRecursion, ALimitOfZeroIsRefused) {
  const Id root = build(ch13::add_balanced_thread(db, 2, 3));
  ready();
  const Load seen = load("a thread of 7 posts", root, 0);
  if (seen.returned() || !seen.never_completed.empty()) {
    ADD_FAILURE() << seen.what << (seen.returned() ? " returned a thread" : " never completed")
                  << "; expected std::invalid_argument, thrown before anything is read: a "
                     "limit of 0 queries in flight can load nothing.";
    return;
  }
  try {
    std::rethrow_exception(seen.thrown);
  } catch (const std::invalid_argument&) {
  } catch (const std::exception& e) {
    ADD_FAILURE() << seen.what << " threw \"" << e.what() << "\"; expected std::invalid_argument";
  }
  if (seen.reads + seen.queries != 0) {
    ADD_FAILURE() << format(
        "%s made %llu reads and %llu queries before refusing the limit; expected none: "
        "check `limit` before the first co_await.",
        seen.what.c_str(), static_cast<unsigned long long>(seen.reads),
        static_cast<unsigned long long>(seen.queries));
  }
}

TEST_F(AsyncRecursion, TwoLoadsOnOneLoopEachGetTheirOwnThread) {
  const Id first = build(ch13::add_balanced_thread(db, 3, 3));   // 13 posts
  const Id second = build(ch13::add_balanced_thread(db, 2, 4));  // 15 posts
  ready();
  Load a;
  a.what = "load_thread() of a thread of 13 posts, limit 4, beside another";
  a.root = first;
  a.limit = 4;
  Load b;
  b.what = "load_thread() of a thread of 15 posts, limit 4, beside another";
  b.root = second;
  b.limit = 4;
  {
    workbook::Watchdog watchdog(5s, "two loads at once");
    using namespace asio::experimental::awaitable_operators;
    try {
      workbook::run_to_completion(ctx, observe(db, a) && observe(db, b), "two loads at once");
    } catch (const workbook::NeverCompleted& e) {
      a.never_completed = e.what();
      b.never_completed = e.what();
    }
  }
  a.left_in_flight = b.left_in_flight = 0;  // each ended while the other may run
  if (db.stats().total.in_flight != 0) {
    ADD_FAILURE() << "two loads at once left " << db.stats().total.in_flight
                  << " operations running after both ended; expected none";
  }
  for (const Load* seen : {&a, &b}) {
    if (expect_returned(*seen)) expect_shape(*seen);
  }
  const mockdb::Stats stats = db.stats();
  if (stats[OpKind::query].max_in_flight > 8) {
    ADD_FAILURE() << "two loads of limit 4 had " << stats[OpKind::query].max_in_flight
                  << " queries in flight at once; expected at most 8 (4 each)";
  }
  if (stats[OpKind::query].started != 28 || stats[OpKind::read].started != 2) {
    ADD_FAILURE() << format(
        "two loads at once, of threads of 13 and 15 posts, made %llu reads and %llu "
        "queries; expected 2 reads and 28 queries, one per post: the loads shared some "
        "of their progress (a static or global variable?). Each call owns its own.",
        static_cast<unsigned long long>(stats[OpKind::read].started),
        static_cast<unsigned long long>(stats[OpKind::query].started));
  }
}

}  // namespace
