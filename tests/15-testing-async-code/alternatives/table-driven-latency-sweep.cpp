// RIGHT: table-driven: a sweep of latencies around the deadline, each checked for outcome and time
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <chrono>
#include <exception>
#include <optional>
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
using workbook::Clock;
using workbook::run_to_completion;

struct Case {
  std::optional<Clock::duration> latency;  // nullopt: the database hangs
  bool saved = false;
};

void deadline_sweep(Fixture& f) {
  const Clock::duration deadline = 60ms;
  const Case cases[] = {{1ms, true},    {30ms, true},          {59ms, true}, {61ms, false},
                        {120ms, false}, {std::nullopt, false}, {45ms, true}};
  std::size_t expected_rows = 0;
  for (const Case& c : cases) {
    if (c.latency) {
      f.db.set_latency(mockdb::OpKind::create, mockdb::Latency::fixed(*c.latency));
    } else {
      f.db.hang_next(1, mockdb::OpKind::create);
    }
    const auto start = Clock::now();
    std::exception_ptr error;
    std::optional<Id> id;
    try {
      id = run_to_completion(f.ctx, f.notes.save_within("case", deadline));
    } catch (...) {
      error = std::current_exception();
    }
    const auto took = Clock::now() - start;
    if (c.saved) {
      EXPECT_FALSE(error) << "a save answering in " << workbook::to_ms(*c.latency) << " ms failed";
      EXPECT_EQ(took, *c.latency);
      ++expected_rows;
    } else {
      bool is_timeout = false;
      try {
        if (error) std::rethrow_exception(error);
      } catch (const ch15::Timeout&) {
        is_timeout = true;
      } catch (...) {
      }
      EXPECT_TRUE(is_timeout) << "no Timeout (or the wrong exception)";
      EXPECT_EQ(took, deadline);
    }
    workbook::run_until_idle(f.ctx);
    EXPECT_EQ(f.db.stats().total.in_flight, 0U);
    EXPECT_EQ(f.db.count(ch15::kNotesTable), expected_rows);
    f.db.clear_faults();
  }
}

void random_overlap(Fixture& f) {
  f.db.set_latency(mockdb::Latency::uniform(1ms, 20ms));
  constexpr int n = 12;
  int ended = 0, failed = 0;
  std::set<Id> ids;
  for (int i = 0; i < n; ++i) {
    asio::co_spawn(f.ctx, f.notes.save("r" + std::to_string(i)),
                   [&](const std::exception_ptr& e, Id id) {
                     ++ended;
                     if (e)
                       ++failed;
                     else
                       ids.insert(id);
                   });
  }
  workbook::run_until_idle(f.ctx);
  EXPECT_EQ(ended, n);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(ids.size(), std::size_t{n});
  EXPECT_EQ(f.db.count(ch15::kNotesTable), std::size_t{n});
  ASSERT_GT(f.db.stats().total.max_in_flight, 1U) << "nothing overlapped: the test proves nothing";

  const Id target = *ids.begin();
  int like_failed = 0;
  for (int i = 0; i < n; ++i) {
    asio::co_spawn(f.ctx, f.notes.like(target), [&](const std::exception_ptr& e) {
      if (e) ++like_failed;
    });
  }
  workbook::run_until_idle(f.ctx);
  EXPECT_EQ(like_failed, 0);
  EXPECT_EQ(run_to_completion(f.ctx, f.notes.likes(target)), n);
  EXPECT_EQ(run_to_completion(f.ctx, f.notes.likes(*ids.rbegin())), 0);
}

void errors_reach_the_caller_unchanged(Fixture& f) {
  f.db.fail_next(1, mockdb::Errc::unavailable, mockdb::OpKind::create);
  try {
    run_to_completion(f.ctx, f.notes.save("a"));
    ADD_FAILURE() << "save() returned although the database failed";
  } catch (const mockdb::DatabaseError& e) {
    EXPECT_EQ(e.code(), mockdb::Errc::unavailable);
  }
  // The write happened but the reply was lost: still an error for the caller.
  f.db.fail_after_effect_next(1, mockdb::Errc::connection_reset, mockdb::OpKind::create);
  EXPECT_THROW(run_to_completion(f.ctx, f.notes.save("b")), mockdb::DatabaseError);
  EXPECT_EQ(f.db.count(ch15::kNotesTable), 1U);
}

void reads_follow_writes(Fixture& f) {
  const Id id = run_to_completion(f.ctx, f.notes.save("v1"));
  ASSERT_TRUE(f.db.peek(ch15::kNotesTable, id).has_value());
  for (const char* next : {"v2", "v3"}) {
    (void)run_to_completion(f.ctx, f.notes.title(id));
    EXPECT_TRUE(run_to_completion(f.ctx, f.notes.rename(id, next)));
    EXPECT_EQ(run_to_completion(f.ctx, f.notes.title(id)), next);
    EXPECT_EQ(f.db.peek(ch15::kNotesTable, id)->at("title").as_string(), next);
  }
}

}  // namespace

void ch15::register_tests(TestList& tests) {
  tests.add("deadline sweep", deadline_sweep);
  tests.add("random overlap", random_overlap);
  tests.add("errors reach the caller unchanged", errors_reach_the_caller_unchanged);
  tests.add("reads follow writes", reads_follow_writes);
}
