// Chapter 14's test, built against the pitfall and against the fix.
//
// ReportRow counts its own deep copies, moves and buffer allocations, so the
// test sees exactly what publish() and broadcast() did with the row they were
// given: the fix passes it on without a single copy of its body, on one loop
// thread and on several. Both must still do the work: the archive row
// describes the row as published (size, checksum, stamp), and every subscriber
// has the whole body, in order, by the time broadcast() returns. A row shared
// through a shared_ptr also records how many owners it had whenever a chunk
// of it was read: more than broadcast() and one per subscriber means a
// shared_ptr copied per chunk, in the hot loop. Counts, not
// timings, are asserted, so the multi-threaded tests are deterministic.
#include "report_service.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
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

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ch14::CopyCounts;
using ch14::ReportRow;
using workbook::format;

namespace {

constexpr std::size_t kRowBytes = std::size_t{64} * 1024;
constexpr int kSubscribers = 8;

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

// Fails the test unless every subscriber had the whole body of `row`, in
// order, when broadcast() returned (`at_return`).
void expect_delivered(const std::vector<ch14::Outbox::Received>& at_return, std::size_t bytes,
                      std::uint64_t sum) {
  for (std::size_t s = 0; s < at_return.size(); ++s) {
    const auto& got = at_return[s];
    if (got.bytes == bytes && got.checksum == sum) continue;
    if (got.bytes == 0 && s > 0 && at_return[0].bytes == bytes) {
      ADD_FAILURE() << format(
          "subscriber %zu had received 0 of %zu bytes when broadcast() returned, while "
          "subscriber 0 had %zu; expected every subscriber to get the whole row.\nWas the row "
          "moved into the first subscriber's task? A moved-from ReportRow is empty: move it "
          "once, into something every subscriber shares.",
          s, bytes, at_return[0].bytes);
    } else if (got.bytes < bytes) {
      ADD_FAILURE() << format(
          "subscriber %zu had received %zu of %zu bytes when broadcast() returned; expected "
          "the whole row.\nbroadcast() must wait for every subscriber's delivery (a task "
          "spawned with `detached` reports to nobody).",
          s, got.bytes, bytes);
    } else {
      ADD_FAILURE() << format(
          "subscriber %zu received %zu bytes with checksum %016llx; expected the %zu bytes of "
          "the row as it was given, checksum %016llx: chunks were lost, repeated or reordered.",
          s, got.bytes, static_cast<unsigned long long>(got.checksum), bytes,
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

class AvoidingCopies : public testing::Test {
 protected:
  AvoidingCopies() { db.set_latency(mockdb::OpKind::create, mockdb::Latency::fixed(1ms)); }

  // Runs publish() on `row` in virtual time and returns the archive row.
  std::optional<mockdb::Row> publish(ReportRow row, CopyCounts& seen) {
    const CopyCounts before = counter.counts();
    const mockdb::Id archived = [&] {
      workbook::Watchdog watchdog(5s, "publish()");
      return workbook::run_to_completion(ctx, ch14::publish(services, std::move(row)), "publish()");
    }();
    seen = since(before, counter.counts());
    return workbook::run_to_completion(ctx, db.read("archive", archived), "reading the archive");
  }

  workbook::VirtualTime virtual_time;
  asio::io_context ctx;
  mockdb::MockDatabase db;
  ch14::CopyCounter counter;
  ch14::Outbox outbox{kSubscribers};
  ch14::Services services{db, outbox};
};

// Awaits broadcast() and writes down what each subscriber had the moment it
// returned. `at_return` is borrowed only because the caller runs this to its
// end before `at_return` goes away.
asio::awaitable<void> observe_broadcast(ch14::Services& services, ReportRow row, int subscribers,
                                        std::vector<ch14::Outbox::Received>& at_return) {
  co_await ch14::broadcast(services, std::move(row), subscribers);
  for (int s = 0; s < subscribers; ++s) at_return.push_back(services.outbox.received(s));
}

TEST_F(AvoidingCopies, PublishMovesTheRowThroughEveryLayer) {
  ReportRow row(7, kRowBytes, counter);
  const std::uint64_t sum = ch14::checksum(row.body());
  CopyCounts seen;
  const auto archived = publish(std::move(row), seen);
  expect_no_copies(format("publish() of a %zu-byte row", kRowBytes), seen, kPublishAdvice);

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

TEST_F(AvoidingCopies, BroadcastSharesOneRowWithEverySubscriber) {
  ReportRow row(3, kRowBytes, counter);
  const std::uint64_t sum = ch14::checksum(row.body());
  const CopyCounts before = counter.counts();
  std::vector<ch14::Outbox::Received> at_return;
  {
    workbook::Watchdog watchdog(5s, "broadcast()");
    workbook::run_to_completion(
        ctx, observe_broadcast(services, std::move(row), kSubscribers, at_return), "broadcast()");
  }
  const std::string what =
      format("broadcast() of a %zu-byte row to %d subscribers", kRowBytes, kSubscribers);
  expect_no_copies(what, since(before, counter.counts()), kBroadcastAdvice);
  expect_owners_within(what, counter.counts(), kSubscribers);
  expect_delivered(at_return, kRowBytes, sum);
}

TEST_F(AvoidingCopies, BroadcastToNobodySendsNothing) {
  ReportRow row(4, kRowBytes, counter);
  std::vector<ch14::Outbox::Received> at_return;
  workbook::Watchdog watchdog(5s, "broadcast() to no subscriber");
  workbook::run_to_completion(ctx, observe_broadcast(services, std::move(row), 0, at_return),
                              "broadcast() to no subscriber");
  EXPECT_TRUE(at_return.empty());
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
  const CopyCounts before = counter.counts();

  std::vector<ch14::Outbox::Received> at_return;
  std::exception_ptr failed;
  bool done = false;
  const std::size_t threads = workbook::loop_threads(2);
  {
    workbook::Watchdog watchdog(5s, "broadcast() on several loop threads");
    asio::co_spawn(ctx, observe_broadcast(services, std::move(row), kSubscribers, at_return),
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
  expect_delivered(at_return, kRowBytes, sum);
}

}  // namespace
