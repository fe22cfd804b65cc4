// RIGHT: each test is one coroutine run to completion; overlap with &&, waits with virtual sleeps.
//
// Another style: the checks live inside the coroutine, next to the co_awaits
// they are about (EXPECT only: ASSERT returns, which a coroutine cannot do).
// Three operations overlap through awaitable_operators' &&, which is enough to
// make two of them meet on a shared connection or a stale count. After a
// Timeout the test waits with workbook::sleep_for, a timer in virtual time,
// so whatever was left running gets its chance to finish before the check.
#include <gtest/gtest.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <chrono>

#include "note_service.hpp"
#include "workbook/clock.hpp"
#include "workbook/run.hpp"
#include "workbook/timer.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using ch15::Fixture;
using ch15::NoteService;
using mockdb::Id;
using mockdb::OpKind;

asio::awaitable<void> saves_and_renames(NoteService& notes, mockdb::MockDatabase& db) {
  const Id id = co_await notes.save("a");
  EXPECT_EQ(co_await notes.title(id), "a");
  EXPECT_TRUE(co_await notes.rename(id, "b"));
  EXPECT_EQ(co_await notes.title(id), "b");
  EXPECT_EQ(db.count(ch15::kNotesTable), 1U);
}

asio::awaitable<void> failures_propagate(NoteService& notes) {
  bool threw = false;
  try {
    co_await notes.save("x");
  } catch (const mockdb::DatabaseError&) {
    threw = true;
  }
  EXPECT_TRUE(threw) << "a failed save returned normally";
}

asio::awaitable<void> three_at_once(NoteService& notes, mockdb::MockDatabase& db) {
  auto saves = notes.save("one") && notes.save("two") && notes.save("three");
  const auto [first, second, third] = co_await std::move(saves);  // throws if any failed
  EXPECT_NE(first, second);
  EXPECT_NE(second, third);
  EXPECT_EQ(db.count(ch15::kNotesTable), 3U);
  auto likes = notes.like(first) && notes.like(first) && notes.like(first);
  co_await std::move(likes);
  EXPECT_EQ(co_await notes.likes(first), 3);
}

asio::awaitable<void> deadline_kept(NoteService& notes, mockdb::MockDatabase& db) {
  const workbook::Clock::time_point start = workbook::Clock::now();
  bool timed_out = false;
  try {
    co_await notes.save_within("slow", 30ms);
  } catch (const ch15::Timeout&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  EXPECT_EQ(workbook::Clock::now() - start, 30ms);
  co_await workbook::sleep_for(1s);  // virtual: anything left running has finished by now
  EXPECT_EQ(db.count(ch15::kNotesTable), 0U);
  EXPECT_EQ(db.stats().total.in_flight, 0U);
}

asio::awaitable<void> answer_in_time(NoteService& notes) {
  const Id id = co_await notes.save_within("quick enough", 30ms);
  EXPECT_EQ(co_await notes.title(id), "quick enough");
}

void run_saves_and_renames(Fixture& f) {
  workbook::run_to_completion(f.ctx, saves_and_renames(f.notes, f.db));
}
void run_failures_propagate(Fixture& f) {
  f.db.fail_next(1);
  workbook::run_to_completion(f.ctx, failures_propagate(f.notes));
}
void run_three_at_once(Fixture& f) {
  f.db.set_latency(mockdb::Latency::fixed(1ms));
  workbook::run_to_completion(f.ctx, three_at_once(f.notes, f.db));
}
void run_deadline_kept_when_slow(Fixture& f) {
  f.db.set_latency(OpKind::create, mockdb::Latency::fixed(45ms));
  workbook::run_to_completion(f.ctx, deadline_kept(f.notes, f.db));
}
void run_deadline_kept_when_hung(Fixture& f) {
  f.db.hang_next(1, OpKind::create);
  workbook::run_to_completion(f.ctx, deadline_kept(f.notes, f.db));
}
void run_answer_in_time(Fixture& f) {
  f.db.set_latency(OpKind::create, mockdb::Latency::fixed(25ms));
  workbook::run_to_completion(f.ctx, answer_in_time(f.notes));
}

}  // namespace

void ch15::register_tests(TestList& tests) {
  tests.add("saves and renames", run_saves_and_renames);
  tests.add("failures propagate", run_failures_propagate);
  tests.add("three at once", run_three_at_once);
  tests.add("deadline kept when slow", run_deadline_kept_when_slow);
  tests.add("deadline kept when hung", run_deadline_kept_when_hung);
  tests.add("answer in time", run_answer_in_time);
}
