// WRONG: pins down how the service is built (no connect, one create per like), not what it does
// expect: failed against a correct service built another way
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

// No overlap at all: pins down how the correct service happens to talk to the database.
void saves_use_no_connection_of_their_own(Fixture& f) {
  (void)run_to_completion(f.ctx, f.notes.save("one"));
  EXPECT_EQ(f.db.stats()[mockdb::OpKind::connect].started, 0U);
}

void a_like_is_an_insert(Fixture& f) {
  const Id id = run_to_completion(f.ctx, f.notes.save("popular"));
  f.db.reset_stats();
  run_to_completion(f.ctx, f.notes.like(id));
  EXPECT_EQ(f.db.stats()[mockdb::OpKind::create].started, 1U);
  EXPECT_EQ(f.db.stats()[mockdb::OpKind::update].started, 0U);
  EXPECT_EQ(run_to_completion(f.ctx, f.notes.likes(id)), 1);
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

}  // namespace

void ch15::register_tests(TestList& tests) {
  tests.add("a saved note reads back", saved_note_reads_back);
  tests.add("a failed save reaches the caller", failed_save_reaches_caller);
  tests.add("saves use no connection of their own", saves_use_no_connection_of_their_own);
  tests.add("a like is an insert", a_like_is_an_insert);
  tests.add("a rename shows in the next read", rename_shows_in_next_read);
  tests.add("a hung save times out at the deadline", hung_save_times_out_at_deadline);
  tests.add("a save under the deadline succeeds", save_under_deadline_succeeds);
  tests.add("a timed-out save leaves nothing", timed_out_save_leaves_nothing);
  //@@extra
}
