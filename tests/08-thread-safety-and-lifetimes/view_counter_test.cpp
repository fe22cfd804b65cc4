// Chapter 08: the view counter's cache under concurrency, and the lifetime of
// what its background tasks use.
//
// ThreadSafety counts views of one note from many coroutines on one thread,
// in virtual time: a read-modify-write of the cache with a co_await inside
// loses updates even there. ThreadSafetyThreads does the same on
// workbook::loop_threads(2) threads in real time, and also asks the caches
// how many of their calls overlapped on two threads (see ViewCache): a data
// race that the counts alone would show only by luck. Both check three
// things: the count cached_views() reports, the count in every live ViewCache
// (read through ViewCache's own static functions, so that a counter cannot
// report one count and keep another), and the counts record_view() returned
// (each new count once: no view may be given a count another view got).
// Lifetimes destroys each request as soon as record_in_background() returns,
// as a server does, then runs the loop, and asks PageView how often it was
// read after destruction, whether the caller's request was left as it was,
// and how many copies are still alive once every task has ended.
//
// The test's own coroutines take the counter by reference: the loop runs, and
// ends, inside the scope that owns it.
#include "view_counter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
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

// One reader who views `note` `views` times, one view after another, and
// keeps the counts record_view() returned.
asio::awaitable<void> view_repeatedly(ViewCounter& counter, mockdb::Id note, int views,
                                      std::vector<std::int64_t>& returned) {
  for (int i = 0; i < views; ++i) returned.push_back(co_await counter.record_view(note));
}

// The message for a count that lost views. On one thread the only way to lose
// one is a co_await between the read and the write; on several, two threads
// can also run the read and the write at the same moment.
std::string lost_updates(std::int64_t expected, std::int64_t got, const std::string& what,
                         bool one_thread) {
  if (got > expected) {
    return format(
        "counted more views than happened: expected %lld got %lld: %s, and %lld views too many "
        "were counted. Count each view once: one read-add-write of 1 per record_view() call.",
        static_cast<long long>(expected), static_cast<long long>(got), what.c_str(),
        static_cast<long long>(got - expected));
  }
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

// What is wrong with the counts in the live ViewCaches, or "" if nothing:
// each must be `expected`. (A cache that holds what cached_views() reports is
// the lost-updates message's business.)
std::string cache_problem(mockdb::Id note, std::int64_t expected, std::int64_t reported) {
  for (const std::int64_t held : ch08::ViewCache::cached_everywhere(note)) {
    if (held == expected || held == reported) continue;
    return format(
        "the ViewCache holds %lld views of note %lld, but %lld were counted (and cached_views() "
        "reports %lld): the cache itself %s. cached_views() must report the count the counter "
        "keeps, and a ViewCache the counter uses must be updated as the fix says (one step, "
        "serialised), not kept beside a second, correct count.",
        static_cast<long long>(held), static_cast<long long>(note),
        static_cast<long long>(expected), static_cast<long long>(reported),
        held < expected ? "lost updates" : "counted views that did not happen");
  }
  return "";
}

// What is wrong with the counts record_view() returned for one note, or "" if
// nothing: each of first .. last exactly once (the new count, this view
// included).
std::string returned_problem(const std::vector<std::int64_t>& returned, std::int64_t first,
                             std::int64_t last, const std::string& what) {
  std::map<std::int64_t, int> times;
  for (const std::int64_t r : returned) ++times[r];
  const auto calls = static_cast<std::int64_t>(returned.size());
  const std::int64_t low =
      returned.empty() ? 0 : *std::min_element(returned.begin(), returned.end());
  const std::int64_t high =
      returned.empty() ? 0 : *std::max_element(returned.begin(), returned.end());
  if (calls == last - first + 1 && low == first - 1 && high == last - 1 &&
      static_cast<std::int64_t>(times.size()) == calls) {
    return format(
        "record_view() returned the count before each view, not after: %s, and the calls "
        "returned %lld .. %lld where %lld .. %lld were expected. It must return the note's new "
        "count, this view included (the value it wrote back).",
        what.c_str(), static_cast<long long>(low), static_cast<long long>(high),
        static_cast<long long>(first), static_cast<long long>(last));
  }
  for (const auto& [count, n] : times) {
    if (n > 1) {
      return format(
          "record_view() returned count %lld to %d different views (%s; %lld calls, %zu "
          "distinct counts returned, expected each of %lld .. %lld once): two views were "
          "given the same count. Return the value your read-add-write produced, in the same "
          "step, not one computed from a count read before it.",
          static_cast<long long>(count), n, what.c_str(), static_cast<long long>(calls),
          times.size(), static_cast<long long>(first), static_cast<long long>(last));
    }
  }
  for (const auto& [count, n] : times) {
    if (count < first || count > last) {
      return format(
          "record_view() returned count %lld, outside %lld .. %lld (%s): it must return the "
          "note's new count, this view included.",
          static_cast<long long>(count), static_cast<long long>(first),
          static_cast<long long>(last), what.c_str());
    }
  }
  return "";
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
  std::vector<std::vector<std::int64_t>> returned(static_cast<std::size_t>(kViewers));
  {
    workbook::Watchdog watchdog(2000ms, "16 coroutines counting views on one thread");
    for (std::vector<std::int64_t>& mine : returned) {
      asio::co_spawn(ctx, view_repeatedly(counter, 1, kViewsEach, mine), asio::detached);
    }
    workbook::run_until_idle(ctx);
  }
  const std::int64_t expected = kStoredViews + std::int64_t{kViewers} * kViewsEach;
  const std::int64_t got = counter.cached_views(1);
  const std::string what =
      format("%d coroutines counted %d views each of note 1 (stored count %lld) on one thread",
             kViewers, kViewsEach, static_cast<long long>(kStoredViews));
  EXPECT_EQ(got, expected) << lost_updates(expected, got, what, true);
  const std::string in_cache = cache_problem(1, expected, got);
  EXPECT_TRUE(in_cache.empty()) << in_cache;
  std::vector<std::int64_t> all;
  for (const auto& r : returned) all.insert(all.end(), r.begin(), r.end());
  const std::string in_returns = returned_problem(all, kStoredViews + 1, expected, what);
  EXPECT_TRUE(in_returns.empty()) << in_returns;
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
  // One vector per viewer, each used by that viewer's coroutine alone.
  std::vector<std::vector<std::int64_t>> returned(static_cast<std::size_t>(kViewersPerNote) *
                                                  kNotes);
  const std::int64_t overlaps_before = ch08::ViewCache::overlaps_everywhere();
  const std::string what = format(
      "%d coroutines counted %d views each of each of %zu notes on "
      "%zu loop threads",
      kViewersPerNote, kViewsEach, kNotes, threads);
  {
    workbook::Watchdog watchdog(5000ms, what);
    for (std::size_t v = 0; v < returned.size(); ++v) {
      const auto note = static_cast<mockdb::Id>(1 + v % kNotes);
      asio::co_spawn(ctx, view_repeatedly(counter, note, kViewsEach, returned[v]),
                     [&](const std::exception_ptr& e) { ++(e ? failed : finished); });
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
    const std::string what_note = what + format(" (note %zu)", n);
    EXPECT_EQ(got, expected) << lost_updates(expected, got, what_note, threads == 1);
    const std::string in_cache = cache_problem(static_cast<mockdb::Id>(n), expected, got);
    EXPECT_TRUE(in_cache.empty()) << in_cache;
    std::vector<std::int64_t> all;
    for (std::size_t v = n - 1; v < returned.size(); v += kNotes) {
      all.insert(all.end(), returned[v].begin(), returned[v].end());
    }
    const std::string in_returns = returned_problem(all, kStoredViews + 1, expected, what_note);
    EXPECT_TRUE(in_returns.empty()) << in_returns;
  }
  const std::int64_t overlaps = ch08::ViewCache::overlaps_everywhere() - overlaps_before;
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
  const std::size_t alive_before = PageView::alive_count();
  int changed = 0;
  std::string change;
  for (int i = 1; i <= kRequests; ++i) {
    // The server's request, freed as soon as its handler returns.
    auto request = std::make_unique<PageView>(note_of(i), reader_name(i));
    counter.record_in_background(*request);
    if (request->note() != note_of(i) || request->reader() != reader_name(i)) {
      if (changed++ == 0) {
        change = format(
            "request %d was note %lld, reader \"%s\", and is now note %lld, reader "
            "\"%s\"",
            i, static_cast<long long>(note_of(i)), reader_name(i).c_str(),
            static_cast<long long>(request->note()), request->reader().c_str());
      }
    }
  }
  EXPECT_EQ(changed, 0) << format(
      "record_in_background() changed the caller's PageView in %d of %d calls (%s): it takes "
      "a const PageView&, a promise to leave the caller's object as it is. Copy the request "
      "into the task (a by-value parameter); never move out of what the caller still owns.",
      changed, kRequests, change.c_str());
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
  const std::size_t alive = PageView::alive_count();
  EXPECT_EQ(alive, alive_before) << format(
      "%zu copies of PageView are still alive after all %d background tasks ended and every "
      "request was destroyed (%zu were alive before): something keeps them, a copy made with "
      "new and never deleted, or a container in the state that is never trimmed (it grows "
      "with every request, for as long as the server runs). The task's copy must live in its "
      "frame and die with it: take the PageView by value.",
      alive - std::min(alive, alive_before), kRequests, alive_before);
  const std::size_t logged = db.count("view_log");
  ASSERT_EQ(logged, static_cast<std::size_t>(kRequests)) << format(
      "%d background views wrote %zu rows to view_log, expected one row per view (%d): %s",
      kRequests, logged, kRequests,
      logged > static_cast<std::size_t>(kRequests) ? "a view was logged more than once"
                                                   : "a view was not logged");
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
    const std::int64_t got = counter.cached_views(static_cast<mockdb::Id>(n));
    const std::int64_t expected = kStoredViews + 2;
    EXPECT_EQ(got, expected) << format(
        "note %zu's count is %lld after two background views of it (stored count %lld), "
        "expected %lld: %s",
        n, static_cast<long long>(got), static_cast<long long>(kStoredViews),
        static_cast<long long>(expected),
        got < expected ? "a background view was not counted (a lost update: the two views' "
                         "read-add-writes overlapped across a co_await, or one never counted)"
                       : "a background view was counted more than once");
  }
}

TEST(Lifetimes, BackgroundViewsOutliveTheCounter) {
  workbook::VirtualTime time;
  asio::io_context ctx;
  mockdb::MockDatabase db;
  workbook::run_to_completion(ctx, add_notes(db));
  const PageView request(2, reader_name(1));
  const std::size_t alive_before = PageView::alive_count();
  {
    ViewCounter counter(db, ctx.get_executor(), kNotes);
    counter.record_in_background(request);
  }  // the counter is gone; its task has not run yet
  {
    workbook::Watchdog watchdog(2000ms, "a background view");
    workbook::run_until_idle(ctx);
  }
  const std::size_t logged = db.count("view_log");
  EXPECT_EQ(logged, 1U) << format(
      "a background view started by a ViewCounter destroyed before the task ran wrote %zu "
      "rows to view_log, expected 1: %s",
      logged,
      logged == 0 ? "it was not logged: the task must own what it shares with the counter (a "
                    "shared_ptr to the state), not borrow the counter"
                  : "it was logged more than once; log each view once");
  EXPECT_EQ(PageView::alive_count(), alive_before) << format(
      "PageViews alive once the task and the counter had ended: %zu more than before (a copy "
      "made with new and never deleted). Let the task's frame own its copy.",
      PageView::alive_count() - std::min(PageView::alive_count(), alive_before));
}

}  // namespace
