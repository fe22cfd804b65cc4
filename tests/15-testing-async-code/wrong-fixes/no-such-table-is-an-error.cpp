// WRONG: expects likes() to throw no_such_table, which the contract says means no like yet
// expect: your test 'errors of likes\(\) reach the caller' failed against the correct service
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <chrono>
#include <exception>
#include <set>
#include <string>
#include <vector>

#include "mockdb/errors.hpp"
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
  const auto row = f.db.peek(ch15::kNotesTable, id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->at("title").as_string(), "groceries");
}

void failed_save_reaches_caller(Fixture& f) {
  f.db.fail_next(1, mockdb::Errc::connection_reset, mockdb::OpKind::create);
  EXPECT_THROW(run_to_completion(f.ctx, f.notes.save("lost")), mockdb::DatabaseError);
  EXPECT_EQ(f.db.count(ch15::kNotesTable), 0U);
}

void concurrent_saves_all_succeed(Fixture& f) {
  f.db.set_latency(mockdb::Latency::fixed(10ms));
  std::vector<std::exception_ptr> errors(kTasks);
  std::vector<Id> ids(kTasks, 0);
  std::vector<bool> done(kTasks, false);
  for (int i = 0; i < kTasks; ++i) {
    asio::co_spawn(f.ctx, f.notes.save("note " + std::to_string(i)),
                   [&, i](const std::exception_ptr& e, Id id) {
                     errors[i] = e;
                     ids[i] = id;
                     done[i] = true;
                   });
  }
  workbook::run_until_idle(f.ctx);
  for (int i = 0; i < kTasks; ++i) {
    EXPECT_TRUE(done[i]);
    EXPECT_FALSE(errors[i]) << "save " << i << " failed";
  }
  EXPECT_EQ(std::set<Id>(ids.begin(), ids.end()).size(), static_cast<std::size_t>(kTasks));
  EXPECT_EQ(f.db.count(ch15::kNotesTable), static_cast<std::size_t>(kTasks));
  EXPECT_EQ(f.db.stats()[mockdb::OpKind::create].max_in_flight, static_cast<std::size_t>(kTasks));
}

void concurrent_likes_all_count(Fixture& f) {
  const Id id = run_to_completion(f.ctx, f.notes.save("popular"));
  f.db.set_latency(mockdb::Latency::fixed(10ms));
  std::vector<std::exception_ptr> errors(kTasks);
  for (int i = 0; i < kTasks; ++i) {
    asio::co_spawn(f.ctx, f.notes.like(id), [&, i](const std::exception_ptr& e) { errors[i] = e; });
  }
  workbook::run_until_idle(f.ctx);
  for (const auto& e : errors) EXPECT_FALSE(e);
  EXPECT_EQ(run_to_completion(f.ctx, f.notes.likes(id)), kTasks);
}

void rename_shows_in_next_read(Fixture& f) {
  const Id id = run_to_completion(f.ctx, f.notes.save("old"));
  EXPECT_EQ(run_to_completion(f.ctx, f.notes.title(id)), "old");
  EXPECT_TRUE(run_to_completion(f.ctx, f.notes.rename(id, "new")));
  EXPECT_EQ(run_to_completion(f.ctx, f.notes.title(id)), "new");
}

void hung_save_times_out_at_deadline(Fixture& f) {
  f.db.hang_next(1, mockdb::OpKind::create);
  const auto start = workbook::Clock::now();
  EXPECT_THROW(run_to_completion(f.ctx, f.notes.save_within("stuck", 100ms)), ch15::Timeout);
  EXPECT_EQ(workbook::Clock::now() - start, 100ms);
}

void save_under_deadline_succeeds(Fixture& f) {
  f.db.set_latency(mockdb::OpKind::create, mockdb::Latency::fixed(90ms));
  const Id id = run_to_completion(f.ctx, f.notes.save_within("in time", 100ms));
  EXPECT_EQ(run_to_completion(f.ctx, f.notes.title(id)), "in time");
}

void timed_out_save_leaves_nothing(Fixture& f) {
  f.db.set_latency(mockdb::OpKind::create, mockdb::Latency::fixed(150ms));
  EXPECT_THROW(run_to_completion(f.ctx, f.notes.save_within("late", 100ms)), ch15::Timeout);
  workbook::run_until_idle(f.ctx);
  EXPECT_EQ(f.db.count(ch15::kNotesTable), 0U);
  EXPECT_EQ(f.db.stats().total.in_flight, 0U);
}

void likes_errors_reach_the_caller(Fixture& f) {
  const Id id = run_to_completion(f.ctx, f.notes.save("liked"));
  run_to_completion(f.ctx, f.notes.like(id));
  for (auto code : {mockdb::Errc::connection_reset, mockdb::Errc::no_such_table}) {
    f.db.fail_next(1, code, mockdb::OpKind::query);
    EXPECT_THROW(run_to_completion(f.ctx, f.notes.likes(id)), mockdb::DatabaseError)
        << "likes() swallowed " << boost::system::error_code(code).message();
  }
}

}  // namespace

void ch15::register_tests(TestList& tests) {
  tests.add("a saved note reads back", saved_note_reads_back);
  tests.add("a failed save reaches the caller", failed_save_reaches_caller);
  tests.add("concurrent saves all succeed", concurrent_saves_all_succeed);
  tests.add("concurrent likes all count", concurrent_likes_all_count);
  tests.add("a rename shows in the next read", rename_shows_in_next_read);
  tests.add("a hung save times out at the deadline", hung_save_times_out_at_deadline);
  tests.add("a save under the deadline succeeds", save_under_deadline_succeeds);
  tests.add("a timed-out save leaves nothing", timed_out_save_leaves_nothing);
  tests.add("errors of likes() reach the caller", likes_errors_reach_the_caller);
}
