// Chapter 02's test, built against the pitfall and against the fix.
//
// Eight requests for note pages arrive together on one event-loop thread, in
// virtual time (a read takes 10.007 ms, logging the view 5.003 ms: not round
// figures, so that a loop that polls every millisecond cannot land on them).
// The fix serves them all at once: each page is returned 15.010 ms after its
// request, with 8 reads in flight and no handler holding the thread. The
// pitfall's first request blocks the thread in future::get(), waiting for
// work only that thread can do; the watchdog ends the run after 500 ms of real
// time with its deadlock report, naming the handler and the blocked call.
//
// The bridge is tested on its own, in real time: it must work from a thread
// that does not run the loop, and refuse (std::logic_error) on one that does,
// rather than freeze it. That second test cannot hang: if the bridge blocks,
// the test runs the loop from its own thread, which completes the operation
// the blocked thread waits for, and reports the freeze it rescued.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "note_store.hpp"
#include "workbook/clock.hpp"
#include "workbook/format.hpp"
#include "workbook/run.hpp"
#include "workbook/stall.hpp"
#include "workbook/watchdog.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using mockdb::Id;
using mockdb::OpKind;

namespace {

constexpr int kRequests = 8;
constexpr int kNotes = 8;
constexpr auto kReadLatency = 10007us;
constexpr auto kLogLatency = 5003us;  // the create of a row in "views"
constexpr auto kPageTime = kReadLatency + kLogLatency;

double ms(workbook::Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

std::string describe(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

std::string expected_page(Id id) {
  return ch02::note_page(
      ch02::Note{id, "note " + std::to_string(id), "text of note " + std::to_string(id)});
}

class SyncOverAsync : public testing::Test {
 protected:
  void SetUp() override {
    workbook::run_to_completion(ctx, ch02::add_notes(db, kNotes));
    store = workbook::run_to_completion(ctx, ch02::DatabaseNoteStore::open(db));
    legacy = std::make_unique<ch02::BlockingNoteStore>(ctx.get_executor(), *store);
    services.emplace(ch02::Services{*store, *legacy});
    // Warm the store's and the database's code paths (not the exercise's), so
    // that a first run's page faults are not mistaken for a stalled loop.
    workbook::run_to_completion(ctx, store->find(1));
    workbook::run_to_completion(ctx, store->log_view(1));
    workbook::run_to_completion(ctx, db.remove(ch02::kViewsTable, 1));
    db.set_latency(OpKind::read, mockdb::Latency::fixed(kReadLatency));
    db.set_latency(OpKind::create, mockdb::Latency::fixed(kLogLatency));
    db.reset_stats();
  }

  void expect_no_stall() {
    EXPECT_FALSE(stalls.stalled())
        << stalls.report()
        << ". The event loop's thread was held for longer than the budget: something in a "
           "request waits on the thread instead of suspending (co_await).";
  }

  workbook::VirtualTime time;
  asio::io_context ctx;
  mockdb::MockDatabase db{mockdb::MockConfig{}};
  workbook::StallDetector stalls{20ms};
  std::unique_ptr<ch02::DatabaseNoteStore> store;
  std::unique_ptr<ch02::BlockingNoteStore> legacy;
  std::optional<ch02::Services> services;
};

TEST_F(SyncOverAsync, ConcurrentRequestsShareTheLoopThread) {
  workbook::Watchdog watchdog(500ms, "8 concurrent requests for note pages", &stalls);
  const auto start = workbook::Clock::now();
  std::vector<std::optional<std::string>> pages(kRequests + 1);
  std::vector<std::optional<std::string>> failures(kRequests + 1);
  std::vector<workbook::Clock::duration> took(kRequests + 1);
  for (int i = 1; i <= kRequests; ++i) {
    asio::co_spawn(stalls.wrap(ctx.get_executor(), "request for note " + std::to_string(i)),
                   ch02::show_note(*services, i),
                   [&, i, start](const std::exception_ptr& error, std::string page) {
                     took[i] = workbook::Clock::now() - start;
                     if (error) {
                       failures[i] = describe(error);
                     } else {
                       pages[i] = std::move(page);
                     }
                   });
  }
  workbook::run_until_idle(ctx);

  for (int i = 1; i <= kRequests; ++i) {
    if (failures[i]) {
      ADD_FAILURE() << "expected the page of note " << i
                    << ", and the request failed: " << *failures[i];
      continue;
    }
    ASSERT_TRUE(pages[i].has_value()) << "the request for note " << i << " never completed";
    EXPECT_EQ(*pages[i], expected_page(i)) << "the page for note " << i << " is wrong";
    if (took[i] < kPageTime) {
      ADD_FAILURE() << workbook::format(
          "the page for note %d was returned after %.3f ms, before its view was logged (a read "
          "takes %.3f ms, logging the view %.3f ms after it): a view logged in the background "
          "is not known to have happened, and its failure reaches nobody. co_await log_view() "
          "before returning the page.",
          i, ms(took[i]), ms(kReadLatency), ms(kLogLatency));
    } else if (took[i] > kPageTime) {
      ADD_FAILURE() << workbook::format(
          "the page for note %d was returned after %.3f ms of virtual time; expected %.3f ms "
          "(a read of %.3f ms, then logging the view, %.3f ms). The request waited longer than "
          "its two operations: does it poll, or sleep, instead of awaiting them?",
          i, ms(took[i]), ms(kPageTime), ms(kReadLatency), ms(kLogLatency));
    }
  }
  const mockdb::Stats stats = db.stats();
  EXPECT_EQ(stats[OpKind::read].max_in_flight, static_cast<std::size_t>(kRequests))
      << "at most " << stats[OpKind::read].max_in_flight << " of the " << kRequests
      << " reads were in flight at once; expected all " << kRequests
      << " requests to wait for the database together, on the one loop thread.";
  EXPECT_EQ(db.count(ch02::kViewsTable), static_cast<std::size_t>(kRequests))
      << "expected one view logged per request";
  expect_no_stall();
}

TEST_F(SyncOverAsync, AMissingNoteGetsTheNotFoundPageAndNoView) {
  workbook::Watchdog watchdog(500ms, "a request for a note that does not exist", &stalls);
  const std::string page = workbook::run_to_completion(
      ctx, asio::co_spawn(stalls.wrap(ctx.get_executor(), "request for note 99"),
                          ch02::show_note(*services, 99), asio::use_awaitable));
  EXPECT_EQ(page, ch02::not_found_page(99));
  EXPECT_EQ(db.count(ch02::kViewsTable), 0u) << "a view was logged for a note that does not exist";
  expect_no_stall();
}

TEST_F(SyncOverAsync, AFailureOfTheStoreReachesTheCaller) {
  workbook::Watchdog watchdog(500ms, "a request whose read fails", &stalls);
  db.fail_next(1, mockdb::Errc::unavailable, OpKind::read);
  std::string outcome = "a page";
  try {
    const std::string page = workbook::run_to_completion(
        ctx, asio::co_spawn(stalls.wrap(ctx.get_executor(), "request for note 3"),
                            ch02::show_note(*services, 3), asio::use_awaitable));
    if (page == ch02::not_found_page(3)) outcome = "the not-found page";
  } catch (const mockdb::DatabaseError&) {
    outcome = "the error";
  } catch (const std::exception& e) {
    outcome = std::string("another exception: ") + e.what();
  }
  EXPECT_EQ(outcome, "the error")
      << "the read of note 3 failed (the database is unavailable), and show_note() returned "
      << outcome
      << " instead of letting the mockdb::DatabaseError reach its caller: a failure is not a "
         "missing note.";
  EXPECT_EQ(db.count(ch02::kViewsTable), 0u);
}

// Provided code, the same in every variant: the asynchronous factory does its
// I/O on the loop (in virtual time here), and reports a missing table.
TEST(SyncOverAsyncFactory, OpenChecksTheTableWithoutBlocking) {
  workbook::VirtualTime time;
  asio::io_context ctx;
  mockdb::MockDatabase db{
      mockdb::MockConfig{.operation_latency = mockdb::Latency::fixed(kReadLatency)}};
  EXPECT_THROW(workbook::run_to_completion(ctx, ch02::DatabaseNoteStore::open(db)),
               mockdb::DatabaseError)
      << "open() on a database without a notes table should fail";
  workbook::run_to_completion(ctx, ch02::add_notes(db, 1));
  const auto start = workbook::Clock::now();
  const auto store = workbook::run_to_completion(ctx, ch02::DatabaseNoteStore::open(db));
  EXPECT_NE(store, nullptr);
  EXPECT_EQ(workbook::Clock::now() - start, kReadLatency)
      << "open() makes one round trip to the database";
}

// ---- the bridge, in real time: several threads, so no virtual time here

class SyncOverAsyncBridge : public testing::Test {
 protected:
  void SetUp() override {
    workbook::run_to_completion(ctx, ch02::add_notes(db, kNotes));
    store = workbook::run_to_completion(ctx, ch02::DatabaseNoteStore::open(db));
    ctx.restart();
  }

  asio::io_context ctx;
  mockdb::MockDatabase db{
      mockdb::MockConfig{.operation_latency = mockdb::Latency::fixed(1ms), .trace = false}};
  std::unique_ptr<ch02::DatabaseNoteStore> store;
};

TEST_F(SyncOverAsyncBridge, WorksFromAThreadThatDoesNotRunTheLoop) {
  workbook::Watchdog watchdog(5000ms, "the bridge called from a thread that does not run the loop");
  ch02::BlockingNoteStore bridge(ctx.get_executor(), *store);
  auto keep_running = asio::make_work_guard(ctx);
  std::optional<ch02::Note> found;
  std::optional<ch02::Note> missing{ch02::Note{}};
  std::string page;
  std::string failure;
  std::thread caller([&] {
    try {
      found = bridge.find(2);
      missing = bridge.find(99);
      page = ch02::render_note_page(bridge, 3);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    // Let the loop end once it has nothing left to do (reset on its thread).
    asio::post(ctx, [&keep_running] { keep_running.reset(); });
  });
  ctx.run();
  caller.join();

  ASSERT_EQ(failure, "")
      << "the bridge, called from a thread that does not run the loop, failed: " << failure
      << ". It must work there: that is what it is for (code on other threads that cannot be "
         "made asynchronous). Refuse only a thread that runs the loop.";
  ASSERT_TRUE(found.has_value()) << "bridge.find(2) found no note 2";
  EXPECT_EQ(found->title, "note 2");
  EXPECT_FALSE(missing.has_value()) << "bridge.find(99) returned a note that does not exist";
  EXPECT_EQ(page, expected_page(3));
  EXPECT_EQ(db.count(ch02::kViewsTable), 1u)
      << "render_note_page() over the bridge should have logged one view";
}

TEST_F(SyncOverAsyncBridge, RefusesOnAThreadThatRunsTheLoop) {
  workbook::Watchdog watchdog(5000ms, "the bridge called on the loop's own thread");
  ch02::BlockingNoteStore bridge(ctx.get_executor(), *store);
  std::promise<void> entered;
  auto in_handler = entered.get_future();
  std::promise<std::string> outcome;
  auto result = outcome.get_future();
  asio::post(ctx, [&bridge, &entered, &outcome] {
    entered.set_value();
    try {
      bridge.find(2);
      outcome.set_value("it returned");
    } catch (const std::logic_error& e) {
      outcome.set_value(std::string("refused: ") + e.what());
    } catch (const std::exception& e) {
      outcome.set_value(std::string("it threw something else than std::logic_error: ") + e.what());
    }
  });
  std::thread loop([this] { ctx.run(); });
  in_handler.wait();  // the loop's thread is inside the handler, about to call the bridge
  constexpr auto kPatience = 300ms;
  bool rescued = false;
  if (result.wait_for(kPatience) != std::future_status::ready) {
    // The loop's thread is blocked: run the loop here, which completes the
    // operation it waits for and unblocks it.
    rescued = true;
    ctx.run();
  }
  loop.join();
  const std::string what = result.get();

  EXPECT_FALSE(rescued)
      << "BlockingNoteStore::find(), called on the one thread that runs the event loop, did not "
         "refuse: it blocked that thread for "
      << kPatience.count() << " ms, until the test ran the loop from another thread (then " << what
      << "). On a loop with one thread nobody else would have: that is this chapter's freeze. "
         "Make the bridge check loop.running_in_this_thread() first and throw std::logic_error.";
  EXPECT_EQ(what.rfind("refused: ", 0), 0u)
      << "BlockingNoteStore::find() on the loop's own thread: " << what
      << "; expected it to refuse with std::logic_error";
}

}  // namespace
