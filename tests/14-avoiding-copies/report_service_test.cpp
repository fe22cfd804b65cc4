// Chapter 14's test, built against the pitfall and against the fix.
//
// ReportRow counts its own deep copies, moves and buffer allocations, so the
// test sees exactly what publish() and broadcast() did with the row they were
// given: the fix passes it on without a single copy of its body, on one loop
// thread and on several. Both must still do the work: the archive row
// describes the row as published (size, checksum, stamp), and every subscriber
// has the whole body, in order, in chunks of kChunkBytes, by the time
// broadcast() returns. The outbox says what the counters cannot: whether the
// chunks were read from the row's own body (a body copied into some other
// buffer is a copy the row never sees), whether the subscribers were served at
// once and each one's chunks one after another, and when the last send ended.
// A row shared through a shared_ptr also records how many owners it had
// whenever a chunk of it was read: more than broadcast() and one per
// subscriber means a shared_ptr kept alive per chunk across a suspension.
// (That counts owners alive at once, not reference-count traffic: a weak_ptr
// locked per chunk changes the count without keeping an owner across the
// send, and a shared_ptr that aliases another object's control block is not
// the row's owner at all; the lesson says so.) Counts and virtual time, not
// timings, are asserted, so the multi-threaded tests are deterministic.
#include "report_service.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "workbook/clock.hpp"
#include "workbook/format.hpp"
#include "workbook/run.hpp"
#include "workbook/watchdog.hpp"

// Counts the heap allocations of at least a row's size made while
// publish() runs: a body copied into a std::vector, a string or a frame of its
// own is such an allocation, and one the row's counters never see. Replacing
// the global operator new is the only place that sees them all; the sanitizer
// builds accept the replacement (they still intercept malloc and free).
namespace {
std::atomic<std::size_t> g_counted_from{0};  // 0: not counting
std::atomic<std::int64_t> g_big_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  const std::size_t from = g_counted_from.load(std::memory_order_relaxed);
  if (from != 0 && size >= from) g_big_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;  // NOLINT(cppcoreguidelines-no-malloc)
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }  // NOLINT(cppcoreguidelines-no-malloc)
void operator delete(void* p, std::size_t /*size*/) noexcept {
  std::free(p);  // NOLINT(cppcoreguidelines-no-malloc)
}

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ch14::CopyCounts;
using ch14::ReportRow;
using workbook::format;

namespace {

// Not a multiple of kChunkBytes: 16 whole chunks and a last one of 100 bytes,
// so that a loop that drops the short tail, or sends bigger chunks, shows.
constexpr std::size_t kRowBytes = std::size_t{64} * 1024 + 100;
// A multiple of kChunkBytes: a loop that runs once too often sends an empty
// chunk at the end.
constexpr std::size_t kWholeChunksRowBytes = std::size_t{64} * 1024;
constexpr int kSubscribers = 8;
// What one send to the outbox takes in the virtual-time tests.
constexpr auto kSendLatency = 1ms;
// How much virtual time a broadcast may take before the test gives up on it
// (the slowest test needs 51 ms): a loop that never ends fails with a
// message, not a hang.
constexpr auto kGiveUpAfter = 1000ms;

// Virtual time in milliseconds, with the sub-millisecond part.
double ms(workbook::Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// How many chunks of kChunkBytes a body of `bytes` is sent in.
constexpr std::size_t chunks_of(std::size_t bytes) {
  return (bytes + ch14::kChunkBytes - 1) / ch14::kChunkBytes;
}

// "1 copy" or "3 copies".
std::string copies(std::int64_t n) { return std::to_string(n) + (n == 1 ? " copy" : " copies"); }

// What happened to rows between two snapshots of their counter.
CopyCounts since(const CopyCounts& before, const CopyCounts& after) {
  return CopyCounts{.copies = after.copies - before.copies,
                    .moves = after.moves - before.moves,
                    .allocations = after.allocations - before.allocations,
                    .bytes_copied = after.bytes_copied - before.bytes_copied};
}

// Fails the test if `what` made any copy of the row: "publish() of a
// 65536-byte row made 2 copies of it (...); expected at most 0 copies".
void expect_no_copies(const std::string& what, const CopyCounts& seen, const char* advice) {
  if (seen.copies == 0) return;
  ADD_FAILURE() << what << " made " << copies(seen.copies) << " of it (" << seen.bytes_copied
                << " bytes copied; body buffers allocated: " << seen.allocations
                << "; moves: " << seen.moves << "); expected at most 0 copies.\n"
                << advice;
}

// Where a row's body lives: chunks read from anywhere else were read from a
// copy of it.
struct BodyRange {
  const char* begin = nullptr;
  std::size_t bytes = 0;
};

// What each subscriber had when broadcast() returned or threw (`at_return`)
// and once every send still running had ended (`at_end`, empty in the threads
// test, whose loop has run out of work by then anyway), and what it threw.
struct Broadcast {
  std::vector<ch14::Outbox::Received> at_return;
  std::vector<ch14::Outbox::Received> at_end;
  std::exception_ptr error;
  bool finished = false;  // false: still running after kGiveUpAfter
};

// Fails the test unless every subscriber had the whole body of the row, in
// order, in chunks of kChunkBytes, each subscriber's sends one after another,
// when broadcast() returned; and, if the row's counters saw no copy of it
// (`copies`), read from the row's own body.
void expect_delivered(const Broadcast& seen, BodyRange body, std::uint64_t sum,
                      std::int64_t copies) {
  const auto& at_return = seen.at_return;
  const std::size_t bytes = body.bytes;
  const std::size_t chunks = chunks_of(bytes);
  const std::size_t last = bytes - (chunks - 1) * ch14::kChunkBytes;
  for (std::size_t s = 0; s < at_return.size(); ++s) {
    const auto& got = at_return[s];
    const std::less<> before;
    if (got.most_sends_at_once > 1) {
      ADD_FAILURE() << format(
          "subscriber %zu had %zu sends in flight at once; expected 1 at a time.\nA "
          "subscriber's chunks are one stream, like a socket's writes: start the next send only "
          "when the last one has completed (co_await each send in the loop), or they may arrive "
          "out of order on a multi-threaded io_context.",
          s, got.most_sends_at_once);
    } else if (copies == 0 && got.lowest != nullptr &&
               (before(got.lowest, body.begin) || before(body.begin + bytes, got.highest_end))) {
      ADD_FAILURE() << format(
          "subscriber %zu received %zu bytes read from memory outside the row's own body "
          "buffer; expected every chunk to be a view of the row's body (row.chunk(offset, "
          "kChunkBytes)).\nThe body was copied into another buffer (a std::vector, a string, "
          "an array): a deep copy that ReportRow's counters never see. Share or borrow the row "
          "itself instead.",
          s, got.bytes);
    } else if (got.bytes == bytes && got.checksum == sum && got.chunks == chunks) {
      continue;
    } else if (got.bytes == 0 && s > 0 && at_return[0].bytes == bytes) {
      ADD_FAILURE() << format(
          "subscriber %zu had received 0 of %zu bytes when broadcast() returned, while "
          "subscriber 0 had %zu; expected every subscriber to get the whole row.\nWas the row "
          "moved into the first subscriber's task? A moved-from ReportRow is empty: move it "
          "once, into something every subscriber shares.",
          s, bytes, at_return[0].bytes);
    } else if (got.bytes < bytes && s < seen.at_end.size() && seen.at_end[s].bytes > got.bytes) {
      ADD_FAILURE() << format(
          "subscriber %zu had received %zu of %zu bytes when broadcast() returned; expected the "
          "whole row (it had %zu once the sends still running had ended).\nbroadcast() must "
          "await every subscriber's delivery (a task spawned with `detached` reports to nobody).",
          s, got.bytes, bytes, seen.at_end[s].bytes);
    } else if (got.bytes < bytes) {
      ADD_FAILURE() << format(
          "subscriber %zu received %zu of %zu bytes, in %zu chunks, and nothing more after "
          "broadcast() returned; expected the whole row: %zu chunks, the last of %zu bytes.\nThe "
          "tail of the body was never sent: loop while `offset < row.size()` (chunk() returns "
          "the shorter rest at the end), not while a whole chunk is left.",
          s, got.bytes, bytes, got.chunks, chunks, last);
    } else if (got.bytes == bytes && got.checksum == sum) {
      ADD_FAILURE() << format(
          "subscriber %zu received the %zu bytes in %zu chunks; expected %zu chunks of at most "
          "kChunkBytes (%zu bytes; the last of %zu).\nSend row.chunk(offset, kChunkBytes) for "
          "offset = 0, kChunkBytes, 2 * kChunkBytes, ... while offset < row.size(): `<=` sends "
          "an empty chunk when the size is a multiple of kChunkBytes, and a bigger step sends "
          "chunks bigger than kChunkBytes.",
          s, bytes, got.chunks, chunks, ch14::kChunkBytes, last);
    } else {
      ADD_FAILURE() << format(
          "subscriber %zu received %zu bytes in %zu chunks with checksum %016llx; expected "
          "the %zu bytes of the row as it was given, in %zu chunks, checksum %016llx: chunks "
          "were lost, repeated or reordered.",
          s, got.bytes, got.chunks, static_cast<unsigned long long>(got.checksum), bytes, chunks,
          static_cast<unsigned long long>(sum));
    }
    return;  // one subscriber's message says it; the others are the same
  }
}

// Fails the test if a shared row had more owners than broadcast() and one
// per subscriber: each extra owner is a shared_ptr copied in a hot loop.
void expect_owners_within(const std::string& what, const CopyCounts& seen, int subscribers) {
  const long most = subscribers + 1;
  if (seen.peak_shared_owners <= most) return;
  ADD_FAILURE() << format(
      "%s: the shared row had %ld shared_ptr owners at once while a chunk was read; expected "
      "at most %ld (broadcast() and one per subscriber's task).\nEach extra owner is a "
      "shared_ptr copy in a frame of its own (one per chunk): an atomic increment and "
      "decrement of the one reference count every loop thread shares. Inside a subscriber's "
      "task, borrow the row from the shared_ptr the task owns (`const ReportRow& row = "
      "*report;`) instead of copying the pointer for every chunk.",
      what.c_str(), seen.peak_shared_owners, most);
}

constexpr const char* kPublishAdvice =
    "A coroutine's by-value parameter is constructed in its frame from what the caller "
    "passes: `co_await render(services, report)` copies the whole body into render()'s "
    "frame. Give the row away instead: `co_await render(services, std::move(report))`, at "
    "every layer.";

constexpr const char* kBroadcastAdvice =
    "Every subscriber reads the same row: move it once into a "
    "std::make_shared<const ReportRow>(std::move(report)), give each subscriber's task a "
    "shared_ptr, and inside the task borrow the row by reference (`const ReportRow& row = "
    "*report;`), never `auto row = *report;` (a copy).";

// Fails the test unless broadcast() served every subscriber at once and
// returned when the last send ended: with sends of kSendLatency each, the
// deliveries of `chunks` chunks take chunks * kSendLatency of virtual time.
void expect_at_once(const std::string& what, const Broadcast& seen, std::size_t most_at_once,
                    int subscribers, std::size_t chunks, workbook::Clock::duration took,
                    workbook::Clock::duration last_send_ended) {
  const auto expected = static_cast<long long>(chunks) * kSendLatency;
  if (most_at_once < static_cast<std::size_t>(subscribers)) {
    ADD_FAILURE() << format(
        "%s took %.3f ms of virtual time, with at most %zu send(s) in flight at once; expected "
        "%.3f ms (%zu chunks of %.3f ms each, every subscriber's delivery at once: %d sends in "
        "flight).\nStart every subscriber's delivery before awaiting any: co_spawn each with "
        "asio::deferred and await them together (a parallel group's wait_for_all).",
        what.c_str(), ms(took), most_at_once, ms(expected), chunks, ms(kSendLatency), subscribers);
  } else if (!seen.at_return.empty() && took > last_send_ended) {
    ADD_FAILURE() << format(
        "%s returned at %.3f ms of virtual time, %.3f ms after the last send had ended (at "
        "%.3f ms); expected it to return when its last delivery ends.\nAwait the deliveries "
        "themselves (a parallel group's wait_for_all), not a sleep \"long enough\" for them: a "
        "sleep is too long when they are fast, too short when they are slow, and loses their "
        "errors.",
        what.c_str(), ms(took), ms(took - last_send_ended), ms(last_send_ended));
  }
}

class AvoidingCopies : public testing::Test {
 protected:
  AvoidingCopies() { db.set_latency(mockdb::OpKind::create, mockdb::Latency::fixed(1ms)); }

  // Runs publish() on `row` in virtual time and returns the archive row.
  // `big_allocations`: how many heap buffers of at least the row's size
  // publish() allocated.
  std::optional<mockdb::Row> publish(ReportRow row, CopyCounts& seen,
                                     std::int64_t* big_allocations = nullptr) {
    const CopyCounts before = counter.counts();
    const std::int64_t big_before = g_big_allocations.load();
    g_counted_from.store(std::max<std::size_t>(row.size(), 1));
    const mockdb::Id archived = [&] {
      workbook::Watchdog watchdog(5s, "publish()");
      return workbook::run_to_completion(ctx, ch14::publish(services, std::move(row)), "publish()");
    }();
    g_counted_from.store(0);
    if (big_allocations != nullptr) *big_allocations = g_big_allocations.load() - big_before;
    seen = since(before, counter.counts());
    return workbook::run_to_completion(ctx, db.read("archive", archived), "reading the archive");
  }

  // Runs broadcast() of `row` to `subscribers` in virtual time: what each
  // subscriber had when it returned (or threw) and once every send had
  // ended, how long it took and when the last send ended (both from its
  // start). What it threw is rethrown unless `keep_error`; if it has not
  // returned after kGiveUpAfter, the test fails saying what it had sent.
  Broadcast broadcast(ReportRow row, int subscribers, workbook::Clock::duration& took,
                      workbook::Clock::duration& last_send_ended, bool keep_error = false);

  workbook::VirtualTime virtual_time;
  asio::io_context ctx;
  mockdb::MockDatabase db;
  ch14::CopyCounter counter;
  ch14::Outbox outbox{kSubscribers, kSendLatency};
  ch14::Services services{db, outbox};
};

// Awaits broadcast() and writes down what each subscriber had the moment it
// returned, and when that was. `at_return` and `returned` are borrowed only
// because the caller runs this to its end before they go away.
asio::awaitable<void> observe_broadcast(ch14::Services& services, ReportRow row, int subscribers,
                                        std::vector<ch14::Outbox::Received>& at_return,
                                        workbook::Clock::time_point& returned) {
  std::exception_ptr error;
  try {
    co_await ch14::broadcast(services, std::move(row), subscribers);
  } catch (...) {
    error = std::current_exception();
  }
  returned = workbook::Clock::now();
  // (Only the subscribers the outbox has: one test asks for one more.)
  const int known = std::min(subscribers, services.outbox.subscribers());
  for (int s = 0; s < known; ++s) at_return.push_back(services.outbox.received(s));
  if (error) std::rethrow_exception(error);
}

Broadcast AvoidingCopies::broadcast(ReportRow row, int subscribers, workbook::Clock::duration& took,
                                    workbook::Clock::duration& last_send_ended, bool keep_error) {
  Broadcast seen;
  const std::size_t bytes = row.size();
  const auto start = workbook::Clock::now();
  auto returned = start;
  {
    workbook::Watchdog watchdog(5s, "broadcast()");
    asio::co_spawn(
        ctx, observe_broadcast(services, std::move(row), subscribers, seen.at_return, returned),
        [&seen](const std::exception_ptr& e) {
          seen.error = e;
          seen.finished = true;
        });
    workbook::detail::drive(
        ctx, [&] { return seen.finished || workbook::Clock::now() - start > kGiveUpAfter; },
        "broadcast()");
  }
  if (!seen.finished) {
    const auto got = outbox.received(0);
    ADD_FAILURE() << format(
        "broadcast() of a %zu-byte row to %d subscribers had not returned after %.3f ms of "
        "virtual time: subscriber 0 had been sent %zu chunks, %zu bytes; expected %zu chunks "
        "(%s) and a return when they had been sent.\nCount the chunks as (size + kChunkBytes "
        "- 1) / kChunkBytes, or loop while offset < row.size(): (size - 1) / kChunkBytes + 1 "
        "wraps around for an empty row (size - 1 is the largest std::size_t).",
        bytes, subscribers, ms(kGiveUpAfter), got.chunks, got.bytes, chunks_of(bytes),
        bytes == 0 ? "a row without a body has nothing to send"
                   : "kChunkBytes each, the last shorter");
    return seen;  // the loop still holds the broadcast: never run it to its end
  }
  workbook::run_until_idle(ctx);  // lets sends broadcast() did not await end
  auto last = start;
  for (int s = 0; s < std::min(subscribers, outbox.subscribers()); ++s) {
    seen.at_end.push_back(outbox.received(s));
    last = std::max(last, seen.at_end.back().last_send_ended);
  }
  took = returned - start;
  last_send_ended = last - start;
  if (seen.error && !keep_error) std::rethrow_exception(seen.error);
  return seen;
}

TEST_F(AvoidingCopies, PublishMovesTheRowThroughEveryLayer) {
  ReportRow row(7, kRowBytes, counter);
  const std::uint64_t sum = ch14::checksum(row.body());
  CopyCounts seen;
  std::int64_t big_allocations = 0;
  const auto archived = publish(std::move(row), seen, &big_allocations);
  expect_no_copies(format("publish() of a %zu-byte row", kRowBytes), seen, kPublishAdvice);
  if (seen.copies == 0 && big_allocations > 0) {
    ADD_FAILURE() << format(
        "publish() of a %zu-byte row allocated %lld heap buffer(s) of at least %zu bytes, the "
        "row's size, though the row itself was never copied; expected none.\nThe body was "
        "copied into another buffer (a std::vector<char>, a string, an array in a coroutine "
        "frame): a deep copy that ReportRow's counters never see. Pass the row itself down "
        "the layers (std::move(report)) and read its body where it is.",
        kRowBytes, static_cast<long long>(big_allocations), kRowBytes);
  }

  ASSERT_TRUE(archived.has_value()) << "publish() returned an id that is not in table \"archive\"";
  const boost::json::object& summary = *archived;
  EXPECT_EQ(summary.at("report").to_number<std::int64_t>(), 7)
      << "the archive row names another report";
  EXPECT_EQ(summary.at("bytes").to_number<std::uint64_t>(), kRowBytes)
      << "the archive row's \"bytes\" is not the size of the row published: was the row read "
         "after it had been moved from (a moved-from row is empty)?";
  EXPECT_EQ(summary.at("checksum").to_number<std::uint64_t>(), sum)
      << "the archive row's \"checksum\" is not the checksum of the row published";
  const std::string stamp(summary.at("stamp").as_string());
  EXPECT_EQ(stamp, "rendered") << R"(the archive row's "stamp" is ")" << stamp
                               << R"("; expected "rendered" (render() stamps the row before )"
                                  "archive() stores it): was the stamp left out, or set on a row "
                                  "that had already been moved on?";
}

TEST_F(AvoidingCopies, PublishRejectsAnEmptyRow) {
  ReportRow empty(1, 0, counter);
  CopyCounts seen;
  EXPECT_THROW((void)publish(std::move(empty), seen), std::invalid_argument)
      << "publish() of a row without a body should throw std::invalid_argument";
}

// kRowBytes to every subscriber, at once, in 17 sends of 1 ms: 17 ms.
TEST_F(AvoidingCopies, BroadcastSharesOneRowWithEverySubscriber) {
  ReportRow row(3, kRowBytes, counter);
  const std::uint64_t sum = ch14::checksum(row.body());
  const BodyRange body{row.body().data(), row.size()};  // a move keeps the buffer
  const CopyCounts before = counter.counts();
  workbook::Clock::duration took{};
  workbook::Clock::duration last_send_ended{};
  const Broadcast seen = broadcast(std::move(row), kSubscribers, took, last_send_ended);
  const std::string what =
      format("broadcast() of a %zu-byte row to %d subscribers", kRowBytes, kSubscribers);
  expect_no_copies(what, since(before, counter.counts()), kBroadcastAdvice);
  expect_owners_within(what, counter.counts(), kSubscribers);
  expect_delivered(seen, body, sum, since(before, counter.counts()).copies);
  expect_at_once(what, seen, outbox.most_sends_at_once(), kSubscribers, chunks_of(kRowBytes), took,
                 last_send_ended);
}

// A row of whole chunks: 16 sends, not 17 (no empty one at the end).
TEST_F(AvoidingCopies, BroadcastSendsEveryChunkOnce) {
  ReportRow row(8, kWholeChunksRowBytes, counter);
  const std::uint64_t sum = ch14::checksum(row.body());
  const BodyRange body{row.body().data(), row.size()};
  const CopyCounts before = counter.counts();
  workbook::Clock::duration took{};
  workbook::Clock::duration last_send_ended{};
  const Broadcast seen = broadcast(std::move(row), kSubscribers, took, last_send_ended);
  expect_delivered(seen, body, sum, since(before, counter.counts()).copies);
}

TEST_F(AvoidingCopies, BroadcastToNobodySendsNothing) {
  ReportRow row(4, kRowBytes, counter);
  workbook::Clock::duration took{};
  workbook::Clock::duration last_send_ended{};
  const Broadcast seen = broadcast(std::move(row), 0, took, last_send_ended);
  EXPECT_TRUE(seen.at_return.empty());
  EXPECT_EQ(outbox.most_sends_at_once(), 0U) << "broadcast() to no subscriber sent something";
}

// A row without a body: no chunk at all, and broadcast() returns at once.
TEST_F(AvoidingCopies, BroadcastOfAnEmptyRowSendsNoChunk) {
  ReportRow row(9, 0, counter);
  workbook::Clock::duration took{};
  workbook::Clock::duration last_send_ended{};
  const Broadcast seen = broadcast(std::move(row), kSubscribers, took, last_send_ended);
  if (!seen.finished) return;  // the helper said what it had sent
  for (std::size_t s = 0; s < seen.at_end.size(); ++s) {
    EXPECT_EQ(seen.at_end[s].chunks, 0U) << format(
        "broadcast() of a 0-byte row sent subscriber %zu %zu chunk(s); expected none (a row "
        "without a body has nothing to send): loop while offset < row.size().",
        s, seen.at_end[s].chunks);
  }
}

// A row shorter than one chunk: one send of the whole row to each subscriber.
TEST_F(AvoidingCopies, BroadcastOfARowShorterThanAChunkSendsOne) {
  constexpr std::size_t kShortBytes = 100;
  ReportRow row(10, kShortBytes, counter);
  const std::uint64_t sum = ch14::checksum(row.body());
  const BodyRange body{row.body().data(), row.size()};
  const CopyCounts before = counter.counts();
  workbook::Clock::duration took{};
  workbook::Clock::duration last_send_ended{};
  const Broadcast seen = broadcast(std::move(row), kSubscribers, took, last_send_ended);
  expect_delivered(seen, body, sum, since(before, counter.counts()).copies);
}

// Subscribers on links of different speeds (sends of 1, 2 or 3 ms):
// broadcast() returns when the slowest has the whole row, at 51 ms, not when
// the first one is done (17 ms).
TEST_F(AvoidingCopies, BroadcastWaitsForTheSlowestSubscriber) {
  const auto latency = [](int s) { return kSendLatency * (1 + s % 3); };
  for (int s = 0; s < kSubscribers; ++s) outbox.set_send_latency(s, latency(s));
  ReportRow row(12, kRowBytes, counter);
  const std::uint64_t sum = ch14::checksum(row.body());
  const BodyRange body{row.body().data(), row.size()};
  const CopyCounts before = counter.counts();
  workbook::Clock::duration took{};
  workbook::Clock::duration last_send_ended{};
  const Broadcast seen =
      broadcast(std::move(row), kSubscribers, took, last_send_ended, /*keep_error=*/true);
  if (!seen.finished) return;  // the helper said what it had sent
  const auto slowest = static_cast<long long>(chunks_of(kRowBytes)) * latency(2);
  for (std::size_t s = 0; s < seen.at_return.size(); ++s) {
    if (seen.at_return[s].bytes >= kRowBytes || seen.at_return[0].bytes < kRowBytes) continue;
    ADD_FAILURE() << format(
        "subscriber %zu (sends of %.3f ms) had received %zu of %zu bytes when broadcast() "
        "returned at %.3f ms of virtual time, when subscriber 0 (sends of %.3f ms) had the "
        "whole row; expected every subscriber to have the whole row, the slowest at %.3f ms "
        "(%zu chunks of %.3f ms).\nbroadcast() returned when the fastest delivery was done: "
        "await every delivery (a parallel group's wait_for_all); wait_for_one cancels the "
        "others in the middle of their row.",
        s, ms(latency(static_cast<int>(s))), seen.at_return[s].bytes, kRowBytes, ms(took),
        ms(latency(0)), ms(slowest), chunks_of(kRowBytes), ms(latency(2)));
    return;
  }
  if (seen.error) std::rethrow_exception(seen.error);
  expect_delivered(seen, body, sum, since(before, counter.counts()).copies);
  if (took < slowest || took > last_send_ended) {
    ADD_FAILURE() << format(
        "broadcast() with subscribers on sends of 1 to 3 ms returned at %.3f ms of virtual "
        "time, the last send ended at %.3f ms; expected both at %.3f ms (the slowest "
        "subscriber's %zu chunks of %.3f ms).\nAwait every delivery, and nothing else.",
        ms(took), ms(last_send_ended), ms(slowest), chunks_of(kRowBytes), ms(latency(2)));
  }
}

// Two broadcasts at once on one loop, of two rows of different sizes, to two
// outboxes: each subscriber gets its own broadcast's row.
TEST_F(AvoidingCopies, TwoBroadcastsAtOnceSendTheirOwnRows) {
  ch14::Outbox other_outbox{kSubscribers, kSendLatency};
  ch14::Services other{db, other_outbox};
  constexpr std::size_t kOtherBytes = kRowBytes / 2 + 10;
  ReportRow first(21, kRowBytes, counter);
  ReportRow second(22, kOtherBytes, counter);
  const std::uint64_t first_sum = ch14::checksum(first.body());
  const std::uint64_t second_sum = ch14::checksum(second.body());
  std::vector<ch14::Outbox::Received> first_seen;
  std::vector<ch14::Outbox::Received> second_seen;
  workbook::Clock::time_point first_returned{};
  workbook::Clock::time_point second_returned{};
  std::exception_ptr failed;
  int done = 0;
  const auto record = [&](const std::exception_ptr& e) {
    if (e && !failed) failed = e;
    ++done;
  };
  const auto start = workbook::Clock::now();
  {
    workbook::Watchdog watchdog(5s, "two broadcasts at once");
    asio::co_spawn(
        ctx,
        observe_broadcast(services, std::move(first), kSubscribers, first_seen, first_returned),
        record);
    asio::co_spawn(
        ctx,
        observe_broadcast(other, std::move(second), kSubscribers, second_seen, second_returned),
        record);
    workbook::detail::drive(
        ctx, [&] { return done == 2 || workbook::Clock::now() - start > kGiveUpAfter; },
        "two broadcasts at once");
  }
  ASSERT_EQ(done, 2) << format("two broadcasts at once had not both returned after %.3f ms",
                               ms(kGiveUpAfter));
  if (failed) std::rethrow_exception(failed);
  struct Expected {
    const std::vector<ch14::Outbox::Received>& seen;
    int id;
    std::size_t bytes;
    std::uint64_t sum;
  };
  for (const Expected& want : {Expected{first_seen, 21, kRowBytes, first_sum},
                               Expected{second_seen, 22, kOtherBytes, second_sum}}) {
    for (std::size_t s = 0; s < want.seen.size(); ++s) {
      const auto& got = want.seen[s];
      if (got.bytes == want.bytes && got.checksum == want.sum) continue;
      ADD_FAILURE() << format(
          "two broadcasts at once on one loop: subscriber %zu of the broadcast of row %d "
          "received %zu bytes, checksum %016llx; expected that row's own %zu bytes, checksum "
          "%016llx.\nEach broadcast must own its row (a shared_ptr local to that broadcast, "
          "handed to its own deliveries): a global or static \"current row\" is replaced by "
          "the next broadcast while the first is still sending, and destroyed under it.",
          s, want.id, got.bytes, static_cast<unsigned long long>(got.checksum), want.bytes,
          static_cast<unsigned long long>(want.sum));
      return;
    }
  }
}

// A delivery that fails must fail broadcast(): the outbox has no subscriber
// kSubscribers, so that subscriber's first send throws std::out_of_range.
// broadcast() throws that exception once every delivery has ended, and the
// other subscribers still get the whole row (the header says so).
TEST_F(AvoidingCopies, BroadcastReportsAFailedDelivery) {
  ReportRow row(6, kRowBytes, counter);
  const std::uint64_t sum = ch14::checksum(row.body());
  const BodyRange body{row.body().data(), row.size()};
  const CopyCounts before = counter.counts();
  const int subscribers = kSubscribers + 1;
  workbook::Clock::duration took{};
  workbook::Clock::duration last_send_ended{};
  const Broadcast seen =
      broadcast(std::move(row), subscribers, took, last_send_ended, /*keep_error=*/true);
  if (!seen.finished) return;  // the helper said what it had sent
  const std::string expected = format("Outbox::send: no subscriber %d", kSubscribers);
  if (!seen.error) {
    ADD_FAILURE() << format(
        "broadcast() to %d subscribers, on an outbox of %d, returned normally; expected it to "
        "throw the std::out_of_range that the send to subscriber %d threw.\nbroadcast() must "
        "await every delivery and rethrow the first error (a parallel group hands back each "
        "task's exception_ptr): a task spawned with `detached` loses its exception, and so "
        "does ignoring the group's errors.",
        subscribers, kSubscribers, kSubscribers);
    return;
  }
  try {
    std::rethrow_exception(seen.error);
  } catch (const std::out_of_range& e) {
    EXPECT_EQ(std::string(e.what()), expected)
        << "broadcast() threw a std::out_of_range, but not the one the failed send threw";
  } catch (const std::exception& e) {
    ADD_FAILURE() << format(
        "broadcast() threw an exception whose what() is \"%s\"; expected the std::out_of_range "
        "the send to subscriber %d threw (\"%s\").\nRethrow the delivery's own exception_ptr "
        "(std::rethrow_exception), not a new exception: the caller catches by type, and the "
        "message says what failed.",
        e.what(), kSubscribers, expected.c_str());
  } catch (...) {
    ADD_FAILURE() << "broadcast() threw something that is not a std::exception; expected the "
                     "std::out_of_range the send to subscriber "
                  << kSubscribers << " threw";
  }
  if (took < last_send_ended) {
    ADD_FAILURE() << format(
        "broadcast() threw at %.3f ms of virtual time, while the other deliveries went on "
        "sending until %.3f ms; expected it to throw only once every delivery had ended.\nA "
        "delivery still running after broadcast() has returned reads a row that nobody it "
        "answers to owns (if it borrowed the row from broadcast()'s frame, a use after free), "
        "and its caller cannot know when the sends stop: await every delivery (wait_for_all), "
        "then rethrow the first error.",
        ms(took), ms(last_send_ended));
    return;
  }
  expect_delivered(seen, body, sum, since(before, counter.counts()).copies);
}

// The same broadcast on a multi-threaded io_context (WORKBOOK_LOOP_THREADS
// threads, 2 by default), in real time: the counts must not depend on which
// thread resumes which subscriber.
TEST(AvoidingCopiesThreads, BroadcastOnSeveralLoopThreadsCopiesNothing) {
  asio::io_context ctx;
  mockdb::MockDatabase db;
  ch14::CopyCounter counter;
  ch14::Outbox outbox{kSubscribers};
  ch14::Services services{db, outbox};
  ReportRow row(5, kRowBytes, counter);
  const std::uint64_t sum = ch14::checksum(row.body());
  const BodyRange body{row.body().data(), row.size()};
  const CopyCounts before = counter.counts();

  Broadcast seen;
  workbook::Clock::time_point returned{};
  std::exception_ptr failed;
  bool done = false;
  const std::size_t threads = workbook::loop_threads(2);
  {
    workbook::Watchdog watchdog(5s, "broadcast() on several loop threads");
    asio::co_spawn(
        ctx, observe_broadcast(services, std::move(row), kSubscribers, seen.at_return, returned),
        [&](const std::exception_ptr& e) {
          failed = e;
          done = true;
        });
    std::vector<std::jthread> loop;
    for (std::size_t i = 0; i < threads; ++i) loop.emplace_back([&ctx] { ctx.run(); });
  }
  ASSERT_TRUE(done) << "broadcast() never completed on " << threads << " loop threads";
  if (failed) std::rethrow_exception(failed);
  const std::string what =
      format("broadcast() of a %zu-byte row to %d subscribers on %zu loop threads", kRowBytes,
             kSubscribers, threads);
  expect_no_copies(what, since(before, counter.counts()), kBroadcastAdvice);
  expect_owners_within(what, counter.counts(), kSubscribers);
  expect_delivered(seen, body, sum, since(before, counter.counts()).copies);
}

}  // namespace
