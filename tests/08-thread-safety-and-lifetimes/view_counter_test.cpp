// Chapter 08: the view counter's cache under concurrency, and the lifetime of
// what its background tasks use.
//
// ThreadSafety counts views of one note from many coroutines on one thread,
// in virtual time: a read-modify-write of the cache with a co_await inside
// loses updates even there. ThreadSafetyThreads does the same on
// workbook::loop_threads(2) threads in real time, and also asks the cache how
// many of its calls overlapped on two threads (see ViewCache): a data race
// that the counts alone would show only by luck. Lifetimes destroys each
// request as soon as record_in_background() returns, as a server does, then
// runs the loop, and asks PageView how often it was read after destruction.
//
// The test's own coroutines take the counter by reference: the loop runs, and
// ends, inside the scope that owns it.
#include "view_counter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "workbook/clock.hpp"
#include "workbook/format.hpp"
#include "workbook/run.hpp"
#include "workbook/watchdog.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ch08::PageView;
using ch08::ViewCounter;
using workbook::format;

constexpr std::size_t kNotes = 4;
constexpr std::int64_t kStoredViews = 100;  // each note's count in table "notes"

asio::awaitable<void> add_notes(mockdb::DatabaseService& db) {
  for (std::size_t i = 0; i < kNotes; ++i) {
    mockdb::Row row;
    row["title"] = "note " + std::to_string(i + 1);
    row["views"] = kStoredViews;
    co_await db.create("notes", std::move(row));
  }
}

// One reader who views `note` `views` times, one view after another.
asio::awaitable<void> view_repeatedly(ViewCounter& counter, mockdb::Id note, int views) {
  for (int i = 0; i < views; ++i) co_await counter.record_view(note);
}

// The message for a count that lost views. On one thread the only way to lose
// one is a co_await between the read and the write; on several, two threads
// can also run the read and the write at the same moment.
std::string lost_updates(std::int64_t expected, std::int64_t got, const std::string& what,
                         bool one_thread) {
  const std::string why =
      one_thread
          ? "The count was read before a co_await and written after it: other coroutines "
            "counted theirs in between, and the write undid them. Make the read and the write "
            "one step with no co_await between them (load first, then read-add-write the "
            "cache without suspending)."
          : "A view wrote back the count it had read + 1 after others had counted theirs: "
            "either a co_await came between its read and its write, or another thread counted "
            "at the same moment. Make the read and the write one step with no co_await "
            "between them, and serialise every use of the cache (one strand, or one mutex "
            "never held across a co_await).";
  return format(
      "lost updates: expected %lld got %lld: %s, and %lld of the %lld views were "
      "lost. %s",
      static_cast<long long>(expected), static_cast<long long>(got), what.c_str(),
      static_cast<long long>(expected - got), static_cast<long long>(expected - kStoredViews),
      why.c_str());
}

// ---- one thread, virtual time

TEST(ThreadSafety, ConcurrentViewsOfOneNoteAreAllCounted) {
  constexpr int kViewers = 16;
  constexpr int kViewsEach = 4;
  workbook::VirtualTime time;
  asio::io_context ctx;
  mockdb::MockDatabase db;
  workbook::run_to_completion(ctx, add_notes(db));
  db.set_latency(mockdb::OpKind::read, mockdb::Latency::fixed(1ms));
  ViewCounter counter(db, ctx.get_executor(), kNotes);
  {
    workbook::Watchdog watchdog(2000ms, "16 coroutines counting views on one thread");
    for (int v = 0; v < kViewers; ++v) {
      asio::co_spawn(ctx, view_repeatedly(counter, 1, kViewsEach), asio::detached);
    }
    workbook::run_until_idle(ctx);
  }
  const std::int64_t expected = kStoredViews + std::int64_t{kViewers} * kViewsEach;
  const std::int64_t got = counter.cached_views(1);
  EXPECT_EQ(got, expected) << lost_updates(
      expected, got,
      format("%d coroutines counted %d views each of note 1 (stored count %lld) on one thread",
             kViewers, kViewsEach, static_cast<long long>(kStoredViews)),
      true);
}

// ---- two loop threads, real time

TEST(ThreadSafetyThreads, ViewsOnTwoLoopThreadsAreAllCountedWithoutARace) {
  constexpr int kViewersPerNote = 8;
  constexpr int kViewsEach = 16;
  const std::size_t threads = workbook::loop_threads(2);
  asio::io_context ctx(static_cast<int>(threads));
  mockdb::MockDatabase db;
  workbook::run_to_completion(ctx, add_notes(db));
  ctx.restart();
  // On several threads the cache's first write waits (up to 100 ms) for a
  // call on another thread to overlap it: only an unsynchronised cache lets one.
  ViewCounter counter(db, ctx.get_executor(), kNotes, threads > 1 ? 100ms : 0ms);
  std::atomic<int> finished{0};
  std::atomic<int> failed{0};
  const std::string what = format(
      "%d coroutines counted %d views each of each of %zu notes on "
      "%zu loop threads",
      kViewersPerNote, kViewsEach, kNotes, threads);
  {
    workbook::Watchdog watchdog(5000ms, what);
    for (int v = 0; v < kViewersPerNote; ++v) {
      for (std::size_t n = 1; n <= kNotes; ++n) {
        asio::co_spawn(ctx, view_repeatedly(counter, static_cast<mockdb::Id>(n), kViewsEach),
                       [&](const std::exception_ptr& e) { ++(e ? failed : finished); });
      }
    }
    std::vector<std::jthread> loop;
    loop.reserve(threads);
    for (std::size_t t = 0; t < threads; ++t) loop.emplace_back([&ctx] { ctx.run(); });
  }
  ASSERT_EQ(failed.load(), 0) << what << ": " << failed.load() << " viewers failed";
  ASSERT_EQ(finished.load(), kViewersPerNote * static_cast<int>(kNotes));
  const std::int64_t expected = kStoredViews + std::int64_t{kViewersPerNote} * kViewsEach;
  for (std::size_t n = 1; n <= kNotes; ++n) {
    const std::int64_t got = counter.cached_views(static_cast<mockdb::Id>(n));
    EXPECT_EQ(got, expected) << lost_updates(expected, got, what + format(" (note %zu)", n),
                                             threads == 1);
  }
  const std::int64_t overlaps = counter.cache_overlaps();
  EXPECT_EQ(overlaps, 0) << format(
      "%lld calls to the cache overlapped a call on another thread (%s): two threads used the "
      "cache at the same moment, a data race (counts lost or torn; undefined behaviour, which "
      "ThreadSanitizer reports). Every use of the cache must be serialised: run them all on "
      "one strand (made once, with the counter: a strand made per call serialises nothing), "
      "or hold one mutex around each, released before any co_await. An atomic or a volatile "
      "elsewhere does not make the cache safe.",
      static_cast<long long>(overlaps), what.c_str());
}

// ---- lifetimes

std::string reader_name(int i) { return format("reader-with-a-long-name-%03d", i); }

// The note request i reads.
mockdb::Id note_of(int i) { return 1 + (i - 1) % static_cast<mockdb::Id>(kNotes); }

TEST(Lifetimes, BackgroundViewsOwnWhatTheyUse) {
  constexpr int kRequests = 8;
  workbook::VirtualTime time;
  asio::io_context ctx;
  mockdb::MockDatabase db;
  workbook::run_to_completion(ctx, add_notes(db));
  ViewCounter counter(db, ctx.get_executor(), kNotes);
  const std::int64_t dead_reads_before = PageView::reads_after_destruction();
  for (int i = 1; i <= kRequests; ++i) {
    // The server's request, freed as soon as its handler returns.
    auto request = std::make_unique<PageView>(note_of(i), reader_name(i));
    counter.record_in_background(*request);
  }
  {
    workbook::Watchdog watchdog(2000ms, "8 background views");
    workbook::run_until_idle(ctx);
  }
  const std::int64_t dead_reads = PageView::reads_after_destruction() - dead_reads_before;
  ASSERT_EQ(dead_reads, 0) << format(
      "use after free: record_in_background()'s task read a PageView %lld times after its "
      "owner destroyed it (%d requests, each destroyed as soon as record_in_background() "
      "returned; under AddressSanitizer, a heap-use-after-free). The task kept a reference to "
      "the caller's object. Give the task its own copy: a coroutine parameter taken by value "
      "lives in the frame.",
      static_cast<long long>(dead_reads), kRequests);
  ASSERT_EQ(db.count("view_log"), static_cast<std::size_t>(kRequests))
      << kRequests << " background views logged " << db.count("view_log") << " rows";
  std::vector<bool> seen(kRequests + 1, false);
  for (mockdb::Id id = 1; id <= kRequests; ++id) {
    const std::optional<mockdb::Row> row = db.peek("view_log", id);
    ASSERT_TRUE(row) << "view_log has no row " << id;
    const std::string reader(row->at("reader").as_string());
    bool known = false;
    for (int i = 1; i <= kRequests; ++i) {
      if (reader == reader_name(i) && row->at("note").as_int64() == note_of(i)) {
        known = !seen[static_cast<std::size_t>(i)];
        seen[static_cast<std::size_t>(i)] = true;
      }
    }
    EXPECT_TRUE(known) << format(
        "the view log's row %lld names reader \"%s\" for note %lld, which no request (or "
        "another row) had: the task read the name after the request was destroyed (a "
        "std::string_view or a reference into it sees freed memory). Copy the name into the "
        "task's frame.",
        static_cast<long long>(id), reader.c_str(),
        static_cast<long long>(row->at("note").as_int64()));
  }
  for (std::size_t n = 1; n <= kNotes; ++n) {
    EXPECT_EQ(counter.cached_views(static_cast<mockdb::Id>(n)), kStoredViews + 2)
        << "note " << n << " was viewed twice in the background";
  }
}

TEST(Lifetimes, BackgroundViewsOutliveTheCounter) {
  workbook::VirtualTime time;
  asio::io_context ctx;
  mockdb::MockDatabase db;
  workbook::run_to_completion(ctx, add_notes(db));
  const PageView request(2, reader_name(1));
  {
    ViewCounter counter(db, ctx.get_executor(), kNotes);
    counter.record_in_background(request);
  }  // the counter is gone; its task has not run yet
  {
    workbook::Watchdog watchdog(2000ms, "a background view");
    workbook::run_until_idle(ctx);
  }
  EXPECT_EQ(db.count("view_log"), 1U)
      << "a background view started by a ViewCounter destroyed before the task ran was not "
         "logged: the task must own what it shares with the counter (a shared_ptr to the "
         "state), not borrow the counter";
}

}  // namespace
