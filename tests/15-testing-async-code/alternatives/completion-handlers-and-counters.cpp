// RIGHT: completion handlers that keep every result, the loop run until idle, counters checked.
//
// Another style: no parallel group. Each save or like is spawned with a
// completion handler that records how it ended; the loop runs until idle (every
// timer fired, every handler ran); then the test checks every recorded result
// and the database's own counters (OpStats) and rows. Deadlines are checked
// from inside the loop: a coroutine notes workbook::Clock::now() when Timeout
// arrives.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <vector>

#include "note_service.hpp"
#include "workbook/clock.hpp"
#include "workbook/run.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ch15::Fixture;
using mockdb::Id;
using mockdb::OpKind;
using workbook::run_to_completion;

void round_trip(Fixture& f) {
  const Id id = run_to_completion(f.ctx, f.notes.save("groceries"));
  const std::optional<mockdb::Row> row = f.db.peek(ch15::kNotesTable, id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->at("title").as_string(), "groceries");
  EXPECT_EQ(run_to_completion(f.ctx, f.notes.title(id)), "groceries");
  EXPECT_TRUE(run_to_completion(f.ctx, f.notes.rename(id, "shopping")));
  EXPECT_EQ(run_to_completion(f.ctx, f.notes.title(id)), "shopping");
}

void errors_are_not_swallowed(Fixture& f) {
  f.db.fail_next(1, mockdb::Errc::unavailable, OpKind::create);
  bool threw = false;
  try {
    run_to_completion(f.ctx, f.notes.save("lost"));
  } catch (const mockdb::DatabaseError& e) {
    threw = e.code() == mockdb::Errc::unavailable;
  }
  EXPECT_TRUE(threw);
  EXPECT_EQ(f.db.stats()[OpKind::create].failed, 1U);
  EXPECT_EQ(f.db.stats()[OpKind::create].succeeded, 0U);
}

void overlapping_writes(Fixture& f) {
  const Id liked = run_to_completion(f.ctx, f.notes.save("liked"));
  f.db.set_latency(mockdb::Latency::fixed(5ms));
  f.db.reset_stats();
  std::vector<std::exception_ptr> failures;
  const auto record = [&failures](const std::exception_ptr& e, auto&&...) {
    if (e) failures.push_back(e);
  };
  for (int i = 0; i < 6; ++i) {
    asio::co_spawn(f.ctx, f.notes.save("note"), record);
    asio::co_spawn(f.ctx, f.notes.like(liked), record);
  }
  workbook::run_until_idle(f.ctx);
  EXPECT_TRUE(failures.empty()) << failures.size() << " of 12 operations failed";
  EXPECT_EQ(f.db.count(ch15::kNotesTable), 7U);
  EXPECT_EQ(run_to_completion(f.ctx, f.notes.likes(liked)), 6);
}

asio::awaitable<void> time_the_timeout(ch15::NoteService& notes,
                                       std::optional<workbook::Clock::duration>& gave_up_after) {
  const workbook::Clock::time_point start = workbook::Clock::now();
  try {
    co_await notes.save_within("late", 50ms);
  } catch (const ch15::Timeout&) {
    gave_up_after = workbook::Clock::now() - start;
  }
}

void deadlines(Fixture& f) {
  std::optional<workbook::Clock::duration> gave_up_after;
  f.db.hang_next(1, OpKind::create);
  run_to_completion(f.ctx, time_the_timeout(f.notes, gave_up_after));
  ASSERT_TRUE(gave_up_after.has_value()) << "no Timeout";
  EXPECT_EQ(*gave_up_after, 50ms);
  workbook::run_until_idle(f.ctx);
  EXPECT_EQ(f.db.stats().total.in_flight, 0U) << "the hung write is still running";

  f.db.set_latency(OpKind::create, mockdb::Latency::fixed(49ms));  // just in time
  EXPECT_NO_THROW(run_to_completion(f.ctx, f.notes.save_within("on time", 50ms)));
  f.db.set_latency(OpKind::create, mockdb::Latency::fixed(80ms));  // too late
  EXPECT_THROW(run_to_completion(f.ctx, f.notes.save_within("too late", 50ms)), ch15::Timeout);
  workbook::run_until_idle(f.ctx);
  EXPECT_EQ(f.db.count(ch15::kNotesTable), 1U) << "only the save in time is kept";
}

}  // namespace

void ch15::register_tests(TestList& tests) {
  tests.add("round trip", round_trip);
  tests.add("errors are not swallowed", errors_are_not_swallowed);
  tests.add("overlapping writes", overlapping_writes);
  tests.add("deadlines", deadlines);
}
