// Chapter 11's test, built against the pitfall and against the fix.
//
// In virtual time, through a pool of 2 connections. Every call runs as its own
// request (a co_spawn whose handler carries a cancellation slot, as a server
// gives each request), which the test may cancel at a chosen moment, as a
// client that went away would. What the test looks at, from outside: when
// the call ended and how, which reads and writes the database saw (the mock's
// trace and counters), what was still running when the call ended, who waited
// for a connection, and what the tables hold once everything has settled.
//
// The rules it checks are those of note_service.hpp: nothing a call started
// runs on after it ends; a cancelled call ends at once (a save waiting for a
// connection too); a hedge goes out at the configured delay and only then,
// alongside the first read, not instead of it; the loser of a hedge is
// cancelled; a save lands both writes or neither, on the one connection it
// leased, so that saves never wait for each other's connections. The wrong fixes in wrong-fixes/
// are what these checks are written against: each message names the mistake, with the figures.
#include "note_service.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/multiple_exceptions.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "workbook/clock.hpp"
#include "workbook/format.hpp"
#include "workbook/run.hpp"
#include "workbook/timer.hpp"
#include "workbook/watchdog.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using mockdb::Id;
using mockdb::OpKind;
using workbook::Clock;

namespace {

constexpr std::size_t kPoolSize = 2;
constexpr int kNotes = 8;
constexpr auto kFast = 10ms;   // a read or write as usual
constexpr auto kSlow = 500ms;  // a read from the long tail

using workbook::format;

double ms(Clock::duration d) { return workbook::to_ms(d); }
double at(Clock::time_point t) { return workbook::to_ms(t.time_since_epoch()); }

// Whether `thrown` says "cancelled": operation_aborted, as such or as the
// first of several exceptions (what operator|| of Boost 1.81 throws when both
// operands failed, see experimental/awaitable_operators.hpp).
bool is_cancellation(const std::exception_ptr& thrown) {
  try {
    std::rethrow_exception(thrown);
  } catch (const boost::system::system_error& e) {
    return e.code() == asio::error::operation_aborted;
  } catch (const asio::multiple_exceptions& e) {
    return is_cancellation(e.first_exception());
  } catch (...) {
    return false;
  }
}

std::string describe(const std::exception_ptr& thrown) {
  try {
    std::rethrow_exception(thrown);
  } catch (const asio::multiple_exceptions& e) {
    return "multiple_exceptions, the first: " + describe(e.first_exception());
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

// What one request did, seen from outside.
template <typename T>
struct Seen {
  std::string what;                               // "read_note() of note 3"
  bool ended = false;                             // returned or threw
  Clock::time_point ended_at{};                   // when, in virtual time
  std::optional<T> value;                         // what it returned
  std::exception_ptr thrown;                      // what it threw
  std::size_t reads_running = 0;                  // reads in flight when it ended
  std::size_t writes_running = 0;                 // writes in flight when it ended
  std::optional<Clock::time_point> cancelled_at;  // when the test cancelled it
};

class Cancellation : public testing::Test {
 public:
  ~Cancellation() override {
    // Whatever the test did, every lease must have come back.
    EXPECT_EQ(pool.lent(), 0u) << format(
        "%zu connection(s) of the pool were still lent out once everything had ended; expected "
        "every lease to give its connection back (a Lease does, when it is destroyed).",
        pool.lent());
    EXPECT_EQ(pool.available(), pool.size()) << format(
        "the pool had %zu of its %zu places free once everything had ended; expected all of "
        "them: a place was lost, and later callers would wait for it for ever.",
        pool.available(), pool.size());
  }
  Cancellation(const Cancellation&) = delete;
  Cancellation& operator=(const Cancellation&) = delete;
  Cancellation(Cancellation&&) = delete;
  Cancellation& operator=(Cancellation&&) = delete;

 protected:
  Cancellation() {
    workbook::run_to_completion(ctx, ch11::add_sample_notes(db, kNotes), "adding sample notes");
    db.set_latency(mockdb::Latency::fixed(kFast));
    db.reset_stats();
    db.trace().clear();
  }

  // Starts `task` as a request of its own; if `cancel_at` is given, the test
  // cancels it then (terminal cancellation, as a server does when the client
  // goes away). Run the loop (settle()) to make it happen.
  template <typename T>
  std::shared_ptr<Seen<T>> request(const std::string& what, asio::awaitable<T> task,
                                   std::optional<Clock::duration> cancel_at = std::nullopt) {
    auto seen = std::make_shared<Seen<T>>();
    seen->what = what;
    auto signal = std::make_shared<asio::cancellation_signal>();
    asio::co_spawn(
        ctx, observe(std::move(task), seen),
        asio::bind_cancellation_slot(signal->slot(), [signal](const std::exception_ptr&) {}));
    if (cancel_at) {
      auto cancel = cancel_later(Clock::now() + *cancel_at, signal, seen);
      asio::co_spawn(ctx, std::move(cancel), asio::detached);
    }
    return seen;
  }

  template <typename T>
  asio::awaitable<void> observe(asio::awaitable<T> task, std::shared_ptr<Seen<T>> seen) {
    try {
      seen->value.emplace(co_await std::move(task));
    } catch (...) {
      seen->thrown = std::current_exception();
    }
    seen->ended = true;
    seen->ended_at = Clock::now();
    seen->reads_running = db.stats()[OpKind::read].in_flight;
    seen->writes_running = db.stats()[OpKind::create].in_flight;
  }

  template <typename T>
  static asio::awaitable<void> cancel_later(Clock::time_point when,
                                            std::shared_ptr<asio::cancellation_signal> signal,
                                            std::shared_ptr<Seen<T>> seen) {
    workbook::Timer timer(co_await asio::this_coro::executor, when);
    co_await timer.async_wait(asio::use_awaitable);
    if (seen->ended) co_return;
    seen->cancelled_at = Clock::now();
    signal->emit(asio::cancellation_type::terminal);
  }

  // Runs the loop until everything has ended, orphans included, in virtual time.
  // A thread blocked for good (a future's get() on the loop's own thread)
  // becomes the watchdog's deadlock report instead of a hang.
  void settle() {
    workbook::Watchdog watchdog(
        5s, "the requests of " +
                std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
    workbook::run_until_idle(ctx);
  }

  // The next read the database starts takes `first`, every later one `rest`
  // (a read from the long tail, then ordinary ones).
  void first_read_takes(Clock::duration first, Clock::duration rest) {
    db.set_latency(OpKind::read, mockdb::Latency::fixed(first));
    asio::co_spawn(ctx, set_read_latency_later(rest), asio::detached);
  }

  // (A member, not a lambda: a lambda coroutine borrows its closure, which
  // would be gone by the time it resumes.)
  asio::awaitable<void> set_read_latency_later(Clock::duration latency) {
    co_await workbook::sleep_for(1ms);
    db.set_latency(OpKind::read, mockdb::Latency::fixed(latency));
  }

  // Borrows `count` connections from the pool into `leases`.
  asio::awaitable<void> take_connections(int count,
                                         std::shared_ptr<std::vector<ch11::Lease>> leases) {
    for (int i = 0; i < count; ++i) leases->push_back(co_await pool.acquire());
  }

  // Destroys `leases` (giving their connections back) after `delay`.
  static asio::awaitable<void> give_back_later(Clock::duration delay,
                                               std::shared_ptr<std::vector<ch11::Lease>> leases) {
    co_await workbook::sleep_for(delay);
    leases->clear();
  }

  // The database's read spans, in start order.
  std::vector<workbook::Span> reads() {
    std::vector<workbook::Span> spans;
    for (auto& span : db.trace().spans()) {
      if (span.operation == "read") spans.push_back(span);
    }
    return spans;
  }

  // Fails unless the request has ended; says what was pending if not.
  template <typename T>
  bool expect_ended(const Seen<T>& seen) {
    if (seen.ended) return true;
    ADD_FAILURE() << format(
        "%s never ended: the loop ran out of work at %.0f ms with it still waiting, %zu of %zu "
        "connections lent out. Pending: %s",
        seen.what.c_str(), at(Clock::now()), pool.lent(), pool.size(),
        workbook::Trace::describe_all_pending().c_str());
    return false;
  }

  // Fails if reads the request started were still running when it returned.
  // (The reads still running then are told apart by how they ended: run to
  // their end, nobody cancelled them; cancelled, nobody waited for them.)
  template <typename T>
  void expect_no_read_left_running(const Seen<T>& seen) {
    if (seen.reads_running == 0) return;
    double last_end = 0;
    std::size_t cancelled_late = 0;
    for (const auto& span : reads()) {
      if (!span.end || *span.end < seen.ended_at) continue;
      last_end = std::max(last_end, at(*span.end));
      if (span.outcome == workbook::Outcome::cancelled && *span.end == seen.ended_at) {
        ++cancelled_late;
      }
    }
    const std::string how =
        cancelled_late > 0
            ? "it cancelled the losing read without waiting for it to end: a cancel is a request, "
              "and the read ends later, when the loop gets to it; until then it holds its "
              "connection while the caller believes the call has finished"
            : "nobody cancelled the losing read: a read co_spawn'ed on its own, whose answer is "
              "awaited through a channel or a promise, is out of reach of ||";
    ADD_FAILURE() << format(
        "%s returned at %.0f ms while %zu read(s) it started were still running (the last ended "
        "at %.0f ms, holding its connection until then): %s. Expected the losing read to be "
        "cancelled and to have ended before read_note() returns: make the reads themselves the "
        "operands of ||, which cancels the loser and waits for it.",
        seen.what.c_str(), at(seen.ended_at), seen.reads_running, last_end, how.c_str());
  }

  workbook::VirtualTime time;
  asio::io_context ctx;
  mockdb::MockDatabase db;
  ch11::ConnectionPool pool{ctx.get_executor(), db, kPoolSize, &db.trace()};
};

// ---- hedged reads ----

TEST_F(Cancellation, AFastReadSendsNoHedge) {
  constexpr auto kHedgeAfter = 30ms;
  auto seen = request("read_note() of note 3", ch11::read_note(pool, 3, kHedgeAfter));
  settle();
  ASSERT_TRUE(expect_ended(*seen));
  if (seen->thrown) FAIL() << seen->what << " threw: " << describe(seen->thrown);
  ASSERT_TRUE(seen->value && *seen->value) << seen->what << " found no note 3";
  EXPECT_EQ((**seen->value).at("title").as_string(), "note 3");
  const auto spans = reads();
  if (spans.size() >= 2) {
    const double second_at = at(spans[1].start);
    if (spans[1].start.time_since_epoch() < kHedgeAfter) {
      ADD_FAILURE() << format(
          "%s sent its second read at %.0f ms, before the hedge delay of %.0f ms, for a request "
          "whose first read answered after %.0f ms: hedging every request at once doubles the "
          "load on the database (%zu reads for 1 request). Expected 1 read: send the hedge only "
          "when the first read has not answered by the hedge delay.",
          seen->what.c_str(), second_at, ms(kHedgeAfter), ms(kFast), spans.size());
    } else {
      ADD_FAILURE() << format(
          "%s sent a hedge at %.0f ms although its first read had answered at %.0f ms; expected "
          "1 read: the hedge must be cancelled while it waits for the hedge delay, as soon as "
          "the first read answers, and then it sends nothing.",
          seen->what.c_str(), second_at, ms(kFast));
    }
  }
  if (seen->ended_at.time_since_epoch() > kFast) {
    ADD_FAILURE() << format(
        "%s answered after %.0f ms although its first read answered at %.0f ms: it waited for "
        "the hedge instead of cancelling it.",
        seen->what.c_str(), at(seen->ended_at), ms(kFast));
  }
  expect_no_read_left_running(*seen);
}

// A read from the long tail is hedged at the configured delay, the hedge wins,
// and the slow read is cancelled before read_note() returns.
class HedgedRead : public Cancellation, public testing::WithParamInterface<int> {};

TEST_P(HedgedRead, ASlowReadIsHedgedAtTheConfiguredDelayAndTheLoserCancelled) {
  const Clock::duration hedge_after = std::chrono::milliseconds(GetParam());
  first_read_takes(kSlow, kFast);
  auto seen = request("read_note() of note 3", ch11::read_note(pool, 3, hedge_after));
  settle();
  ASSERT_TRUE(expect_ended(*seen));
  if (seen->thrown) FAIL() << seen->what << " threw: " << describe(seen->thrown);
  ASSERT_TRUE(seen->value && *seen->value) << seen->what << " found no note 3";

  const auto spans = reads();
  ASSERT_GE(spans.size(), 1u) << seen->what << " sent no read at all";
  if (spans.size() < 2) {
    FAIL() << format(
        "%s sent no second read: its first read took %.0f ms, and it answered after %.0f ms. "
        "Expected a hedge (a second read) at the hedge delay, %.0f ms, and an answer by %.0f ms.",
        seen->what.c_str(), ms(kSlow), at(seen->ended_at), ms(hedge_after),
        ms(hedge_after + kFast));
  }
  const double hedged_at = at(spans[1].start);
  EXPECT_EQ(spans[1].start.time_since_epoch(), hedge_after) << format(
      "%s sent its second read at %.0f ms; expected it at the configured hedge delay, %.0f ms "
      "(the p95 of a read). Earlier adds load for reads that were about to answer; later, or a "
      "delay of your own, ignores what the caller configured.",
      seen->what.c_str(), hedged_at, ms(hedge_after));
  expect_no_read_left_running(*seen);
  const double expected = ms(hedge_after + kFast);
  if (at(seen->ended_at) > expected) {
    const bool loser_finished = spans[0].outcome == workbook::Outcome::ok;
    ADD_FAILURE() << format(
        "%s answered after %.0f ms; expected %.0f ms (the hedge at %.0f ms + %.0f ms).%s",
        seen->what.c_str(), at(seen->ended_at), expected, ms(hedge_after), ms(kFast),
        loser_finished
            ? " The slow first read ran to its end instead of being cancelled: || returns only "
              "once both operands have ended, so an operand that ignores cancellation holds the "
              "winner's answer back."
            : "");
  }
  EXPECT_EQ(spans[0].outcome, workbook::Outcome::cancelled) << format(
      "the losing read (the slow first one) ended as '%s' at %.0f ms; expected it cancelled "
      "when the hedge answered at %.0f ms",
      workbook::to_string(spans[0].outcome), spans[0].end ? at(*spans[0].end) : -1.0,
      at(spans[1].end.value_or(Clock::time_point{})));
  EXPECT_EQ(db.stats()[OpKind::read].started, 2u) << "a hedged read sends 2 reads, no more";
}

INSTANTIATE_TEST_SUITE_P(HedgeDelays, HedgedRead, testing::Values(30, 45),
                         [](const testing::TestParamInfo<int>& info) {
                           return "after_" + std::to_string(info.param) + "ms";
                         });

// A first read a little slower than the hedge delay: the hedge goes out, and
// then the first read answers before it. A hedge runs alongside the first
// read, not instead of it, so the answer comes when the first read answers.
TEST_F(Cancellation, AFirstReadJustSlowerThanTheHedgeDelayStillWins) {
  constexpr auto kHedgeAfter = 30ms;
  constexpr auto kRead = 35ms;  // every read
  db.set_latency(OpKind::read, mockdb::Latency::fixed(kRead));
  auto seen = request("read_note() of note 3", ch11::read_note(pool, 3, kHedgeAfter));
  settle();
  ASSERT_TRUE(expect_ended(*seen));
  if (seen->thrown) FAIL() << seen->what << " threw: " << describe(seen->thrown);
  ASSERT_TRUE(seen->value && *seen->value) << seen->what << " found no note 3";
  const auto spans = reads();
  ASSERT_GE(spans.size(), 1u) << seen->what << " sent no read at all";
  const workbook::Span& first = spans[0];
  const bool first_cut_short = first.outcome == workbook::Outcome::cancelled && first.end &&
                               first.end->time_since_epoch() < kRead;
  if (first_cut_short && spans.size() >= 2) {
    ADD_FAILURE() << format(
        "%s answered at %.0f ms, though its first read would have answered at %.0f ms (every "
        "read takes %.0f ms, the hedge delay is %.0f ms): it cancelled its first read at the "
        "hedge delay and started again (the first read was cancelled at %.0f ms, a new one "
        "started at %.0f ms). That is a restart, which makes a read a little slower than the "
        "delay wait the delay plus a whole read. Expected a hedge: a second read alongside the "
        "first, both racing, the first answer returned (the first read's, at %.0f ms, here) and "
        "the other read cancelled.",
        seen->what.c_str(), at(seen->ended_at), ms(kRead), ms(kRead), ms(kHedgeAfter),
        at(*first.end), at(spans[1].start), ms(kRead));
  } else if (seen->ended_at.time_since_epoch() != kRead) {
    ADD_FAILURE() << format(
        "%s answered at %.0f ms; expected %.0f ms, when its first read answered (every read takes "
        "%.0f ms; the hedge went out at %.0f ms and had not answered yet): the first answer wins, "
        "whichever read gives it.",
        seen->what.c_str(), at(seen->ended_at), ms(kRead), ms(kRead), ms(kHedgeAfter));
  }
  expect_no_read_left_running(*seen);
  if (spans.size() == 2 && !first_cut_short) {
    EXPECT_EQ(spans[1].outcome, workbook::Outcome::cancelled) << format(
        "the hedge (the read sent at %.0f ms) ended as '%s' at %.0f ms; expected it cancelled "
        "when the first read answered at %.0f ms",
        at(spans[1].start), workbook::to_string(spans[1].outcome),
        spans[1].end ? at(*spans[1].end) : -1.0, ms(kRead));
  }
}

TEST_F(Cancellation, LaterCallersDoNotWaitForTheLosersConnection) {
  constexpr auto kHedgeAfter = 30ms;
  first_read_takes(kSlow, kFast);
  auto hedged = request("the hedged read_note() of note 3", ch11::read_note(pool, 3, kHedgeAfter));
  // Two more requests arrive once the hedged one has answered (at 40 ms):
  // a pool of 2 has a connection for each, unless someone still holds one.
  std::vector<std::shared_ptr<Seen<std::optional<mockdb::Row>>>> later;
  auto start_later = [&]() -> asio::awaitable<void> {
    co_await workbook::sleep_for(kHedgeAfter + kFast + 5ms);
    later.push_back(request("read_note() of note 4", ch11::read_note(pool, 4, kHedgeAfter)));
    later.push_back(request("read_note() of note 5", ch11::read_note(pool, 5, kHedgeAfter)));
  };
  asio::co_spawn(ctx, start_later(), asio::detached);
  settle();
  ASSERT_TRUE(expect_ended(*hedged));
  ASSERT_EQ(later.size(), 2u);
  const auto arrived = kHedgeAfter + kFast + 5ms;
  // Only a request that has answered has reads nobody wants: if it answered
  // late, its slow read was still wanted, and ASlowReadIsHedged... says why.
  if (hedged->ended_at.time_since_epoch() > arrived) return;
  for (const auto& seen : later) {
    ASSERT_TRUE(expect_ended(*seen));
    const double waited = ms(seen->ended_at.time_since_epoch() - arrived - kFast);
    EXPECT_LE(seen->ended_at.time_since_epoch(), arrived + kFast) << format(
        "%s arrived at %.0f ms and answered at %.0f ms: it waited %.0f ms for a connection of the "
        "pool of %zu, held by a read that nobody wanted any more (the hedged read of note 3 had "
        "answered at %.0f ms). Expected the loser to be cancelled and its connection back in the "
        "pool, so that this read takes %.0f ms.",
        seen->what.c_str(), ms(arrived), at(seen->ended_at), waited, kPoolSize,
        at(hedged->ended_at), ms(kFast));
  }
}

// ---- cancelled by the caller ----

// The caller gives up at `cancel_at`; read_note() must end then, with every
// read it started cancelled and ended, and send nothing afterwards.
class CallerCancels : public Cancellation, public testing::WithParamInterface<int> {};

TEST_P(CallerCancels, CancelledReadLeavesNothingRunning) {
  constexpr auto kHedgeAfter = 30ms;
  const Clock::duration cancel_at = std::chrono::milliseconds(GetParam());
  db.set_latency(OpKind::read, mockdb::Latency::fixed(100ms));
  auto seen = request("read_note() of note 3", ch11::read_note(pool, 3, kHedgeAfter), cancel_at);
  settle();
  ASSERT_TRUE(expect_ended(*seen));
  ASSERT_TRUE(seen->cancelled_at) << seen->what << " ended before the test could cancel it, at "
                                  << at(seen->ended_at) << " ms";
  const auto spans = reads();
  const auto stats = db.stats()[OpKind::read];
  if (seen->reads_running > 0 || stats.succeeded > 0) {
    double last_end = 0;
    for (const auto& span : spans)
      last_end = std::max(last_end, at(span.end.value_or(Clock::time_point{})));
    ADD_FAILURE() << format(
        "operation still running after cancel: %s was cancelled at %.0f ms and ended at %.0f ms "
        "with %zu read(s) still in flight; %llu read(s) went on to complete (the last at %.0f "
        "ms), each holding a connection nobody wanted. Expected every read it started to be "
        "cancelled and to have ended when it ends: a cancellation reaches an operation only "
        "through the chain of co_await / || / parallel groups that owns it, never one "
        "co_spawn'ed on its own; and a cancel you emit yourself is a request: wait for the read "
        "to end before you return.",
        seen->what.c_str(), at(*seen->cancelled_at), at(seen->ended_at), seen->reads_running,
        static_cast<unsigned long long>(stats.succeeded), last_end);
  }
  if (seen->value) {
    ADD_FAILURE() << format(
        "%s returned a %s at %.0f ms after it was cancelled at %.0f ms; expected it to end with "
        "operation_aborted at once. Nobody is waiting for this answer: do not catch the "
        "cancellation to retry or to return something else.",
        seen->what.c_str(), *seen->value ? "note" : "'no such note'", at(seen->ended_at),
        at(*seen->cancelled_at));
  } else if (!is_cancellation(seen->thrown)) {
    ADD_FAILURE() << seen->what << " was cancelled and threw " << describe(seen->thrown)
                  << "; expected operation_aborted (a cancelled channel receive says "
                     "channel_cancelled: a cancelled database read says operation_aborted)";
  }
  EXPECT_EQ(seen->ended_at, *seen->cancelled_at)
      << format("%s was cancelled at %.0f ms and ended only at %.0f ms; expected it to end at once",
                seen->what.c_str(), at(*seen->cancelled_at), at(seen->ended_at));
  const std::size_t sent_by_then = cancel_at > kHedgeAfter ? 2 : 1;
  EXPECT_EQ(stats.started, sent_by_then) << format(
      "%s sent %llu reads when cancelled at %.0f ms (hedge delay %.0f ms); expected %zu: a "
      "cancelled request sends nothing more",
      seen->what.c_str(), static_cast<unsigned long long>(stats.started), at(*seen->cancelled_at),
      ms(kHedgeAfter), sent_by_then);
}

INSTANTIATE_TEST_SUITE_P(Moments, CallerCancels, testing::Values(20, 35),
                         [](const testing::TestParamInfo<int>& info) {
                           return "at_" + std::to_string(info.param) + "ms";
                         });

// ---- saves ----

TEST_F(Cancellation, SaveWritesTheNoteAndItsHistory) {
  auto seen = request("save_note()", ch11::save_note(pool, "groceries"));
  settle();
  ASSERT_TRUE(expect_ended(*seen));
  if (seen->thrown) FAIL() << "save_note() threw: " << describe(seen->thrown);
  const auto note = db.peek(ch11::kNotesTable, *seen->value);
  ASSERT_TRUE(note) << "save_note() returned id " << *seen->value << ", and there is no such note";
  EXPECT_EQ(note->at("title").as_string(), "groceries");
  EXPECT_EQ(db.count(ch11::kHistoryTable), 1u) << "expected one history entry for the saved note";
  EXPECT_EQ(seen->ended_at.time_since_epoch(), 2 * kFast)
      << "save_note() took " << at(seen->ended_at) << " ms; its two writes take " << ms(2 * kFast);
  std::vector<std::uint64_t> connections;
  for (const auto& span : db.trace().spans()) {
    if (span.operation == "create") connections.push_back(span.links.connection);
  }
  if (connections.size() == 2 && connections[0] != connections[1]) {
    ADD_FAILURE() << format(
        "save_note() wrote the note on connection %llu and its history entry on connection %llu; "
        "expected both on the one connection it leased. A save that holds a connection while it "
        "waits for a second one deadlocks as soon as as many saves run at once as the pool has "
        "connections (see SavesAsManyAsThePoolHasConnectionsAllEnd).",
        static_cast<unsigned long long>(connections[0]),
        static_cast<unsigned long long>(connections[1]));
  }
}

// As many saves at once as the pool has connections: each has its own, and all
// of them end. A save that waits for a second connection while it holds one
// (shielded from cancellation, at that) waits for ever.
TEST_F(Cancellation, SavesAsManyAsThePoolHasConnectionsAllEnd) {
  std::vector<std::shared_ptr<Seen<Id>>> saves;
  for (std::size_t i = 0; i < kPoolSize; ++i) {
    saves.push_back(
        request("save_note() " + std::to_string(i + 1) + " of " + std::to_string(kPoolSize),
                ch11::save_note(pool, "note " + std::to_string(i + 1))));
  }
  settle();
  std::size_t ended = 0;
  for (const auto& seen : saves) ended += seen->ended ? 1 : 0;
  const std::size_t notes = db.count(ch11::kNotesTable) - kNotes;
  const std::size_t entries = db.count(ch11::kHistoryTable);
  if (ended < saves.size()) {
    const bool each_holds_one = notes > entries && pool.lent() == pool.size();
    ADD_FAILURE() << format(
        "%zu of %zu save_note() calls started at once on a pool of %zu connections ended; the "
        "loop ran out of work at %.0f ms with the others still waiting, %zu connection(s) lent "
        "out, %zu note(s) and %zu history entr(ies) written.%s Expected every save to end at %.0f "
        "ms: a save leases one connection and writes both rows on it.",
        ended, saves.size(), kPoolSize, at(Clock::now()), pool.lent(), notes, entries,
        each_holds_one
            ? " A deadlock: each save holds one connection and waits for a second one, which no "
              "save will give back (and the wait is where no cancellation can end it). Write "
              "the history entry on the connection that wrote the note."
            : "",
        ms(2 * kFast));
    return;
  }
  for (const auto& seen : saves) {
    if (seen->thrown) ADD_FAILURE() << seen->what << " threw: " << describe(seen->thrown);
    EXPECT_EQ(seen->ended_at.time_since_epoch(), 2 * kFast) << format(
        "%s ended at %.0f ms; with a connection for each save, expected %.0f ms (two writes)",
        seen->what.c_str(), at(seen->ended_at), ms(2 * kFast));
  }
  EXPECT_EQ(notes, saves.size());
  EXPECT_EQ(entries, saves.size());
}

struct SaveCase {
  int cancel_at_ms;
  mockdb::CancelEffect effect;
};

class CancelledSave : public Cancellation, public testing::WithParamInterface<SaveCase> {};

TEST_P(CancelledSave, LeavesBothWritesOrNeither) {
  const auto [cancel_ms, effect] = GetParam();
  db.set_cancel_effect(effect);
  const char* server = effect == mockdb::CancelEffect::server_stops
                           ? "a server that stops a cancelled statement"
                           : "a server that finishes a cancelled statement";
  auto seen = request("save_note()", ch11::save_note(pool, "groceries"),
                      std::chrono::milliseconds(cancel_ms));
  settle();
  ASSERT_TRUE(expect_ended(*seen));
  const std::size_t notes = db.count(ch11::kNotesTable) - kNotes;
  const std::size_t entries = db.count(ch11::kHistoryTable);
  if (seen->writes_running > 0) {
    ADD_FAILURE() << format(
        "save_note() ended at %.0f ms (cancelled at %.0f ms) while %zu write(s) were still in "
        "flight: it told its caller one thing and went on doing another. Expected the writes it "
        "began to have ended when it ends: wait for them, do not leave them to a detached "
        "coroutine.",
        at(seen->ended_at), cancel_ms * 1.0, seen->writes_running);
  }
  EXPECT_EQ(notes, entries) << format(
      "save_note() cancelled at %d ms, with %s, left half a save: %zu new note(s) and %zu history "
      "entr(ies). Expected both writes or neither. A cancellation stops a coroutine at its next "
      "co_await (and a cancelled write breaks its connection), so once the first write has "
      "begun, the second must run where the caller's cancellation cannot reach it.",
      cancel_ms, server, notes, entries);
  if (seen->value) {
    EXPECT_TRUE(db.peek(ch11::kNotesTable, *seen->value))
        << "save_note() returned id " << *seen->value << ", and there is no such note";
  } else if (!is_cancellation(seen->thrown)) {
    ADD_FAILURE() << "save_note() threw " << describe(seen->thrown)
                  << "; expected it to return the id, or end with operation_aborted";
  }
}

INSTANTIATE_TEST_SUITE_P(Moments, CancelledSave,
                         testing::Values(SaveCase{5, mockdb::CancelEffect::server_stops},
                                         SaveCase{15, mockdb::CancelEffect::server_stops},
                                         SaveCase{5, mockdb::CancelEffect::server_finishes},
                                         SaveCase{15, mockdb::CancelEffect::server_finishes}),
                         [](const testing::TestParamInfo<SaveCase>& info) {
                           return "at_" + std::to_string(info.param.cancel_at_ms) + "ms_" +
                                  (info.param.effect == mockdb::CancelEffect::server_stops
                                       ? "server_stops"
                                       : "server_finishes");
                         });

TEST_F(Cancellation, SaveCancelledWhileWaitingForAConnectionWritesNothing) {
  // Both connections are busy until 50 ms; the caller gives up at 20 ms.
  auto held = std::make_shared<std::vector<ch11::Lease>>();
  workbook::run_to_completion(ctx, take_connections(2, held), "taking both connections");
  asio::co_spawn(ctx, give_back_later(50ms, held), asio::detached);
  auto seen = request("save_note()", ch11::save_note(pool, "groceries"), 20ms);
  settle();
  ASSERT_TRUE(expect_ended(*seen));
  const std::size_t notes = db.count(ch11::kNotesTable) - kNotes;
  EXPECT_EQ(notes + db.count(ch11::kHistoryTable), 0u) << format(
      "save_note() was cancelled at 20 ms while it waited for a connection, before anything was "
      "written, and yet wrote %zu note(s) and %zu history entr(ies) once a connection was free at "
      "50 ms (it ended at %.0f ms). Expected it to end at 20 ms with operation_aborted and write "
      "nothing: only the writes themselves, once begun, must not be cancelled.",
      notes, db.count(ch11::kHistoryTable), at(seen->ended_at));
  EXPECT_TRUE(!seen->value && is_cancellation(seen->thrown))
      << "save_note() cancelled while it waited for a connection should end with "
         "operation_aborted";
  EXPECT_EQ(seen->ended_at.time_since_epoch(), 20ms) << format(
      "save_note() was cancelled at 20 ms while it waited for a connection and ended only at "
      "%.0f ms, when a connection came free at 50 ms; expected it to end at 20 ms, at the cancel: "
      "a caller that gave up must not wait for the slowest query holding a connection. Keep the "
      "wait for a connection where the caller's cancellation reaches it (co_await acquire() in "
      "save_note() itself), and shield only the writes.",
      at(seen->ended_at));
  // The pool must still lend both connections: a wait that was cancelled
  // takes no place with it.
  auto again = std::make_shared<std::vector<ch11::Lease>>();
  workbook::run_to_completion(ctx, take_connections(2, again),
                              "taking both connections after a cancelled wait");
  EXPECT_EQ(again->size(), 2u);
}

}  // namespace
