// WRONG: the timed-out save checks only that Timeout was thrown, not what was left behind.
// expect: broken implementation: timeout-leaves-write-running
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <set>
#include <vector>

#include "note_service.hpp"
#include "workbook/clock.hpp"
#include "workbook/run.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ch15::Fixture;
using mockdb::Id;
using workbook::run_to_completion;

constexpr int kTasks = 10;

void saved_note_reads_back(Fixture& f) {
  const Id id = run_to_completion(f.ctx, f.notes.save("groceries"));
  EXPECT_EQ(run_to_completion(f.ctx, f.notes.title(id)), "groceries");
  EXPECT_EQ(f.db.count(ch15::kNotesTable), 1U);
}

void failed_save_reaches_the_caller(Fixture& f) {
  f.db.fail_next(1, mockdb::Errc::connection_reset, mockdb::OpKind::create);
  EXPECT_THROW(run_to_completion(f.ctx, f.notes.save("lost")), mockdb::DatabaseError);
  EXPECT_EQ(f.db.count(ch15::kNotesTable), 0U);
}

void rename_is_seen_by_the_next_read(Fixture& f) {
  const Id id = run_to_completion(f.ctx, f.notes.save("draft"));
  EXPECT_EQ(run_to_completion(f.ctx, f.notes.title(id)), "draft");  // a read before the change
  EXPECT_TRUE(run_to_completion(f.ctx, f.notes.rename(id, "final")));
  EXPECT_EQ(run_to_completion(f.ctx, f.notes.title(id)), "final");
}

// Starts `count` saves at once and waits for all of them; returns how each
// ended: its exception (null if it succeeded) and its id.
asio::awaitable<std::vector<std::pair<std::exception_ptr, Id>>> save_at_once(
    ch15::NoteService& notes, int count) {
  const asio::any_io_executor ex = co_await asio::this_coro::executor;
  std::vector<decltype(asio::co_spawn(ex, notes.save(""), asio::deferred))> saves;
  saves.reserve(count);
  for (int i = 0; i < count; ++i) {
    saves.push_back(asio::co_spawn(ex, notes.save("note " + std::to_string(i)), asio::deferred));
  }
  auto all = asio::experimental::make_parallel_group(std::move(saves));
  auto [order, errors, ids] =
      co_await all.async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  std::vector<std::pair<std::exception_ptr, Id>> ended;
  for (std::size_t i = 0; i < ids.size(); ++i) ended.emplace_back(errors[i], ids[i]);
  co_return ended;
}

void concurrent_saves_all_succeed(Fixture& f) {
  f.db.set_latency(mockdb::Latency::fixed(10ms));  // so that the saves overlap
  const auto ended = run_to_completion(f.ctx, save_at_once(f.notes, kTasks));
  std::set<Id> ids;
  for (const auto& [error, id] : ended) {
    EXPECT_FALSE(error) << "a save failed";
    if (!error) ids.insert(id);
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kTasks)) << "every save gets an id of its own";
  EXPECT_EQ(f.db.count(ch15::kNotesTable), static_cast<std::size_t>(kTasks));
  EXPECT_EQ(f.db.stats()[mockdb::OpKind::create].max_in_flight, static_cast<std::size_t>(kTasks))
      << "the saves did not overlap: this test cannot see a concurrency bug";
}

asio::awaitable<void> like_at_once(ch15::NoteService& notes, Id id, int count) {
  const asio::any_io_executor ex = co_await asio::this_coro::executor;
  std::vector<decltype(asio::co_spawn(ex, notes.like(id), asio::deferred))> likes;
  likes.reserve(count);
  for (int i = 0; i < count; ++i)
    likes.push_back(asio::co_spawn(ex, notes.like(id), asio::deferred));
  auto all = asio::experimental::make_parallel_group(std::move(likes));
  auto [order, errors] =
      co_await all.async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

void concurrent_likes_all_count(Fixture& f) {
  const Id id = run_to_completion(f.ctx, f.notes.save("popular"));
  f.db.set_latency(mockdb::Latency::fixed(10ms));
  run_to_completion(f.ctx, like_at_once(f.notes, id, kTasks));
  EXPECT_EQ(run_to_completion(f.ctx, f.notes.likes(id)), kTasks);
}

void hung_save_times_out_at_the_deadline(Fixture& f) {
  f.db.hang_next(1, mockdb::OpKind::create);  // the database never answers
  const workbook::Clock::time_point start = workbook::Clock::now();
  EXPECT_THROW(run_to_completion(f.ctx, f.notes.save_within("stuck", 100ms)), ch15::Timeout);
  EXPECT_EQ(workbook::Clock::now() - start, 100ms);  // virtual time: exact on every run
}

void answer_before_the_deadline_is_kept(Fixture& f) {
  f.db.set_latency(mockdb::OpKind::create, mockdb::Latency::fixed(90ms));
  const Id id = run_to_completion(f.ctx, f.notes.save_within("in time", 100ms));
  EXPECT_EQ(f.db.peek(ch15::kNotesTable, id).has_value(), true);
}

void timed_out_save_leaves_nothing_behind(Fixture& f) {
  f.db.set_latency(mockdb::OpKind::create, mockdb::Latency::fixed(150ms));
  EXPECT_THROW(run_to_completion(f.ctx, f.notes.save_within("too late", 100ms)), ch15::Timeout);
}

}  // namespace

void ch15::register_tests(TestList& tests) {
  tests.add("a saved note reads back", saved_note_reads_back);
  tests.add("a failed save reaches the caller", failed_save_reaches_the_caller);
  tests.add("a rename is seen by the next read", rename_is_seen_by_the_next_read);
  tests.add("concurrent saves all succeed", concurrent_saves_all_succeed);
  tests.add("concurrent likes all count", concurrent_likes_all_count);
  tests.add("a hung save times out at the deadline", hung_save_times_out_at_the_deadline);
  tests.add("an answer before the deadline is kept", answer_before_the_deadline_is_kept);
  tests.add("a timed-out save leaves nothing behind", timed_out_save_leaves_nothing_behind);
}
