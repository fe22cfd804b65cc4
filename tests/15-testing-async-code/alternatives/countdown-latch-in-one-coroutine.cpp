// RIGHT: each test one coroutine; concurrent work joins on a countdown latch (a cancelled Timer)
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "mockdb/errors.hpp"
#include "note_service.hpp"
#include "workbook/clock.hpp"
#include "workbook/run.hpp"
#include "workbook/timer.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ch15::Fixture;
using mockdb::Id;

constexpr int kTasks = 8;

// Runs `body` as one coroutine to its end.
void as_coroutine(Fixture& f, const std::function<asio::awaitable<void>(Fixture&)>& body) {
  workbook::run_to_completion(f.ctx, body(f));
}

// Starts every operation at once; resumes when the last has ended.
struct Latch {
  explicit Latch(const asio::any_io_executor& ex, int n) : timer(ex, 24h), left(n) {}
  void arrive() {
    if (--left == 0) timer.cancel();
  }
  asio::awaitable<void> wait() {
    if (left > 0) co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  workbook::Timer timer;
  int left;
};

asio::awaitable<void> save_and_read(Fixture& f) {
  const Id id = co_await f.notes.save("groceries");
  EXPECT_EQ(co_await f.notes.title(id), "groceries");
  EXPECT_EQ(f.db.count(ch15::kNotesTable), 1U);
  EXPECT_EQ(co_await f.notes.title(id + 1000), std::nullopt);
}

asio::awaitable<void> failure_is_reported(Fixture& f) {
  f.db.fail_next(1, mockdb::Errc::connection_reset, mockdb::OpKind::create);
  bool threw = false;
  try {
    (void)co_await f.notes.save("lost");
  } catch (const mockdb::DatabaseError& e) {
    threw = true;
    EXPECT_EQ(e.code(), mockdb::Errc::connection_reset);
  }
  EXPECT_TRUE(threw) << "save() hid the database's error";
}

asio::awaitable<void> overlapping_saves(Fixture& f) {
  f.db.set_latency(mockdb::Latency::fixed(5ms));
  const auto ex = co_await asio::this_coro::executor;
  Latch latch(ex, kTasks);
  std::vector<std::exception_ptr> errors(kTasks);
  std::vector<Id> ids(kTasks);
  for (int i = 0; i < kTasks; ++i) {
    asio::co_spawn(ex, f.notes.save("n" + std::to_string(i)),
                   [&, i](const std::exception_ptr& e, Id id) {
                     errors[i] = e;
                     ids[i] = id;
                     latch.arrive();
                   });
  }
  co_await latch.wait();
  int failed = 0;
  for (const auto& e : errors) failed += e ? 1 : 0;
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(std::set<Id>(ids.begin(), ids.end()).size(), std::size_t{kTasks});
  EXPECT_EQ(f.db.count(ch15::kNotesTable), std::size_t{kTasks});
  EXPECT_GT(f.db.stats()[mockdb::OpKind::create].max_in_flight, 1U) << "the saves did not overlap";
}

asio::awaitable<void> overlapping_likes(Fixture& f) {
  const Id id = co_await f.notes.save("liked");
  EXPECT_EQ(co_await f.notes.likes(id), 0);
  f.db.set_latency(mockdb::Latency::fixed(5ms));
  const auto ex = co_await asio::this_coro::executor;
  Latch latch(ex, kTasks);
  int failed = 0;
  for (int i = 0; i < kTasks; ++i) {
    asio::co_spawn(ex, f.notes.like(id), [&](const std::exception_ptr& e) {
      failed += e ? 1 : 0;
      latch.arrive();
    });
  }
  co_await latch.wait();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(co_await f.notes.likes(id), kTasks);
}

asio::awaitable<void> rename_then_read(Fixture& f) {
  const Id id = co_await f.notes.save("draft");
  EXPECT_EQ(co_await f.notes.title(id), "draft");
  EXPECT_TRUE(co_await f.notes.rename(id, "final"));
  EXPECT_EQ(co_await f.notes.title(id), "final");
  EXPECT_FALSE(co_await f.notes.rename(id + 1000, "ghost"));
}

// The deadline, both sides of it, and what a timeout leaves.
asio::awaitable<void> deadline_both_sides(Fixture& f) {
  f.db.set_latency(mockdb::OpKind::create, mockdb::Latency::fixed(80ms));
  auto start = workbook::Clock::now();
  const Id id = co_await f.notes.save_within("in time", 100ms);
  EXPECT_EQ(workbook::Clock::now() - start, 80ms);
  EXPECT_EQ(co_await f.notes.title(id), "in time");

  f.db.hang_next(1, mockdb::OpKind::create);
  start = workbook::Clock::now();
  bool timed_out = false;
  try {
    (void)co_await f.notes.save_within("stuck", 100ms);
  } catch (const ch15::Timeout&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  EXPECT_EQ(workbook::Clock::now() - start, 100ms);
  co_await workbook::sleep_for(1s);  // virtual time: let anything left behind run
  EXPECT_EQ(f.db.stats().total.in_flight, 0U);
  EXPECT_EQ(f.db.count(ch15::kNotesTable), 1U);
}

asio::awaitable<void> slow_write_is_abandoned(Fixture& f) {
  f.db.set_latency(mockdb::OpKind::create, mockdb::Latency::fixed(300ms));
  bool timed_out = false;
  try {
    (void)co_await f.notes.save_within("late", 100ms);
  } catch (const ch15::Timeout&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  co_await workbook::sleep_for(1s);
  EXPECT_EQ(f.db.count(ch15::kNotesTable), 0U) << "saved after Timeout";
}

}  // namespace

void ch15::register_tests(TestList& tests) {
  tests.add("save and read", [](Fixture& f) { as_coroutine(f, save_and_read); });
  tests.add("a failure is reported", [](Fixture& f) { as_coroutine(f, failure_is_reported); });
  tests.add("overlapping saves", [](Fixture& f) { as_coroutine(f, overlapping_saves); });
  tests.add("overlapping likes", [](Fixture& f) { as_coroutine(f, overlapping_likes); });
  tests.add("rename then read", [](Fixture& f) { as_coroutine(f, rename_then_read); });
  tests.add("the deadline, both sides", [](Fixture& f) { as_coroutine(f, deadline_both_sides); });
  tests.add("a slow write is abandoned",
            [](Fixture& f) { as_coroutine(f, slow_write_is_abandoned); });
}
