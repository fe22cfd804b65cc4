// Chapter 00's primer, as tests: each claim the lesson makes about Asio
// (Boost 1.81) and about the workbook's harness, shown on the chapter's own
// write_note() and checked on every build. The lesson quotes these tests
// between their //! [marker] lines. They use only provided code, so they pass
// against the pitfall and the fix alike; save_notes() is judged by
// note_saver_test.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <future>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "note_saver.hpp"
#include "workbook/clock.hpp"
#include "workbook/run.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// How many writes the database has begun.
std::uint64_t creates(const mockdb::MockDatabase& db) {
  return db.stats()[mockdb::OpKind::create].started;
}

TEST(FirstSteps, AnAwaitableRunsNothingUntilTheLoopRunsIt) {
  mockdb::MockDatabase db;  // before the loop: coroutines left on the loop use it
  asio::io_context ctx;
  //! [lazy]
  asio::awaitable<mockdb::Id> write = ch00::write_note(db, {"Groceries", "milk"});
  EXPECT_EQ(creates(db), 0u);  // only a coroutine frame, suspended before its first line

  asio::co_spawn(ctx, std::move(write), asio::detached);
  EXPECT_EQ(creates(db), 0u);  // outside the loop, co_spawn queues the start, no more

  const std::size_t handlers = ctx.run();  // runs handlers until no work is left
  EXPECT_GT(handlers, 0u);
  EXPECT_EQ(creates(db), 1u);
  EXPECT_EQ(db.count(ch00::kNotesTable), 1u);  // the write ran, inside run()
  //! [lazy]
}

TEST(FirstSteps, TheCompletionTokenDecidesWhenTheWorkStarts) {
  mockdb::MockDatabase db;
  asio::io_context ctx;
  //! [tokens]
  // These three start now (queued on ctx, as we are outside the loop):
  asio::co_spawn(ctx, ch00::write_note(db, {"a", ""}), asio::detached);  // result: dropped
  asio::co_spawn(ctx, ch00::write_note(db, {"b", ""}),
                 [](const std::exception_ptr& error, mockdb::Id id) {  // result: to this handler
                   EXPECT_FALSE(error);
                   EXPECT_GT(id, 0);
                 });
  std::future<mockdb::Id> c =  // result: to a std::future
      asio::co_spawn(ctx, ch00::write_note(db, {"c", ""}), asio::use_future);
  // These two only describe the work: it starts when they are awaited (or invoked).
  asio::awaitable<mockdb::Id> d =
      asio::co_spawn(ctx, ch00::write_note(db, {"d", ""}), asio::use_awaitable);
  auto e = asio::co_spawn(ctx, ch00::write_note(db, {"e", ""}), asio::deferred);

  ctx.run();
  EXPECT_EQ(db.count(ch00::kNotesTable), 3u);  // a, b and c; d and e never started
  EXPECT_GT(c.get(), 0);                       // ready: run() has returned

  // A coroutine that awaits d starts it; e starts when invoked with a token.
  ctx.restart();
  asio::co_spawn(
      ctx,
      [&]() -> asio::awaitable<void> {
        co_await std::move(d);
        co_await std::move(e)(asio::use_awaitable);
      },
      asio::detached);
  ctx.run();
  EXPECT_EQ(db.count(ch00::kNotesTable), 5u);
  //! [tokens]
}

TEST(FirstSteps, CoSpawnFromInsideTheLoopStartsTheCoroutineAtOnce) {
  mockdb::MockDatabase db;
  asio::io_context ctx;
  //! [dispatch]
  auto parent = [&]() -> asio::awaitable<void> {
    const asio::any_io_executor ex = co_await asio::this_coro::executor;
    asio::co_spawn(ex, ch00::write_note(db, {"from inside", ""}), asio::detached);
    // On the loop's own thread, co_spawn dispatches: the write has already run
    // up to its first suspension (waiting for the database) when it returns.
    EXPECT_EQ(creates(db), 1u);
  };
  asio::co_spawn(ctx, parent(), asio::detached);
  EXPECT_EQ(creates(db), 0u);  // from outside the loop, the same call only queued
  ctx.run();
  EXPECT_EQ(db.count(ch00::kNotesTable), 1u);
  //! [dispatch]
}

TEST(FirstSteps, HandlersRunInsideRunWhichReturnsWhenTheWorkIsDone) {
  asio::io_context ctx;
  std::vector<std::string> ran;
  //! [handlers]
  const asio::any_io_executor ex = ctx.get_executor();    // where handlers run: on ctx
  asio::post(ex, [&ran] { ran.emplace_back("first"); });  // a handler, queued
  asio::post(ex, [&ran] { ran.emplace_back("second"); });
  EXPECT_TRUE(ran.empty());  // nothing runs outside run()

  EXPECT_EQ(ctx.run(), 2u);  // runs both, in order, on this thread, then returns
  EXPECT_EQ(ran, (std::vector<std::string>{"first", "second"}));
  EXPECT_TRUE(ctx.stopped());  // it ran out of work, and that stops it

  asio::post(ex, [&ran] { ran.emplace_back("third"); });
  EXPECT_EQ(ctx.run(), 0u);  // a stopped io_context runs nothing...
  ctx.restart();
  EXPECT_EQ(ctx.run(), 1u);  // ...until restart()
  //! [handlers]
  EXPECT_EQ(ran.back(), "third");
}

TEST(FirstSteps, VirtualTimeRunsAnHourOfLatencyInNoTime) {
  //! [virtual-time]
  workbook::VirtualTime time;  // from here on, this process's clock is virtual: t = 0
  mockdb::MockDatabase db{mockdb::MockConfig{.operation_latency = mockdb::Latency::fixed(1h)}};
  asio::io_context ctx;
  // The harness's run(): whenever the loop is idle, it moves the clock to the next timer.
  const mockdb::Id id =
      workbook::run_to_completion(ctx, ch00::write_note(db, {"Later", ""}), "write_note");
  EXPECT_EQ(workbook::Clock::now().time_since_epoch(), 1h);  // exactly, on every run
  EXPECT_TRUE(db.peek(ch00::kNotesTable, id));
  //! [virtual-time]
}

TEST(FirstSteps, TheRunnerReportsWorkThatCanNeverComplete) {
  workbook::VirtualTime time;
  mockdb::MockDatabase db;
  asio::io_context ctx;
  //! [never-completed]
  db.hang_next(1);  // the next operation never completes
  try {
    workbook::run_to_completion(ctx, ch00::write_note(db, {"Lost", ""}), "write_note");
    ADD_FAILURE() << "a write that never completes completed";
  } catch (const workbook::NeverCompleted& e) {  // instead of hanging for good
    EXPECT_THAT(e.what(), testing::HasSubstr("never completed: write_note was still waiting"));
  }
  //! [never-completed]
}

}  // namespace
