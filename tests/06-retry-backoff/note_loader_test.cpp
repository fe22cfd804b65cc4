// Chapter 06's test, built against the pitfall and against the fix.
//
// Reads take 10 us in virtual time, failed ones too: a database that is down
// refuses at once. Every read load_note() makes goes through CountingDatabase,
// which writes down when it started, so the test sees each attempt. What it
// asks, and what each check is written against (the gallery in wrong-fixes/):
//
//  - through a 50 ms outage: at most max_attempts reads (a storm is thousands),
//    the note in the end, and no handler blocking the loop (a blocking sleep);
//  - through a 2 s outage: few attempts (the waits double; linear ones do not);
//  - through a 1 s outage with a cap of 20 ms: an answer soon after it ends;
//  - a long outage or a hung read (the first, or one after an outage):
//    Errc::timed_out by the call's deadline;
//  - permanent errors and a missing note: one attempt;
//  - each transient error is retried, another backend's code for one too;
//    max_attempts is honoured;
//  - 100 clients through one outage: retries spread out, not in waves, and two
//    runs with the same seeds retry at the same times; one client retries at
//    the same times alone and beside others.
//
// A loop that never stops (retrying a permanent error, or a missing note)
// must still end the test: past kCeiling reads, CountingDatabase stops
// answering (its reads hang), and the test reports the count.
#include "note_loader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "mockdb/errors.hpp"
#include "mockdb/mock_database.hpp"
#include "workbook/clock.hpp"
#include "workbook/format.hpp"
#include "workbook/run.hpp"
#include "workbook/stall.hpp"
#include "workbook/timer.hpp"
#include "workbook/watchdog.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using mockdb::Errc;
using mockdb::Id;
using mockdb::OpKind;
using workbook::Clock;

namespace {

constexpr auto kLatency = 10us;
constexpr std::size_t kCeiling = 2'000;  // reads answered before the test stops answering

using workbook::format;

double ms(Clock::duration d) { return workbook::to_ms(d); }

// Another backend's error codes, as the mock's interface sees them: a category
// of their own, each code mapped onto one of the shared conditions. Its code
// 57 is that backend's "starting up" (PostgreSQL's 57P03), ErrorClass::unavailable.
// A final class, used only through the static instance below.
// NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor)
class OtherBackendCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "otherdb"; }
  std::string message(int /*code*/) const override { return "the database system is starting up"; }
  boost::system::error_condition default_error_condition(int /*code*/) const noexcept override {
    return mockdb::ErrorClass::unavailable;
  }
};

boost::system::error_code other_backend_starting_up() {
  static const OtherBackendCategory category;
  return {57, category};
}

// The mock database, seen through a wrapper that writes down when each read
// started, and stops answering reads (they hang until cancelled) past kCeiling.
class CountingDatabase final : public mockdb::DatabaseService {
 public:
  explicit CountingDatabase(mockdb::MockDatabase& inner) : inner_(inner) {}

  asio::awaitable<std::unique_ptr<mockdb::Connection>> connect() override {
    return inner_.connect();
  }
  asio::awaitable<Id> create(std::string table, mockdb::Row row) override {
    return inner_.create(std::move(table), std::move(row));
  }
  asio::awaitable<std::optional<mockdb::Row>> read(std::string table, Id id) override {
    reads.push_back(Clock::now());
    if (reads.size() > kCeiling) {
      ceiling_reached = true;
      workbook::Timer never(co_await asio::this_coro::executor, Clock::time_point::max());
      co_await never.async_wait(asio::use_awaitable);  // throws operation_aborted if cancelled
      throw std::logic_error("a wait until the end of time completed");
    }
    co_return co_await inner_.read(std::move(table), id);
  }
  asio::awaitable<bool> update(std::string table, Id id, mockdb::Row fields) override {
    return inner_.update(std::move(table), id, std::move(fields));
  }
  asio::awaitable<bool> remove(std::string table, Id id) override {
    return inner_.remove(std::move(table), id);
  }
  asio::awaitable<mockdb::Rows> query(std::string sql, mockdb::Params params) override {
    return inner_.query(std::move(sql), std::move(params));
  }

  // How many reads started in [from, to).
  std::size_t reads_between(Clock::time_point from, Clock::time_point to) const {
    return static_cast<std::size_t>(std::count_if(
        reads.begin(), reads.end(), [&](Clock::time_point t) { return t >= from && t < to; }));
  }

  std::vector<Clock::time_point> reads;  // when each read started
  bool ceiling_reached = false;

 private:
  mockdb::MockDatabase& inner_;
};

// What one load_note() call did, seen from outside.
struct Call {
  bool ended = false;                   // returned or threw (false: it never did)
  std::optional<mockdb::Row> note;      // what it returned
  bool returned = false;                // returned (note may still be empty)
  boost::system::error_code error;      // the DatabaseError it threw
  std::string other;                    // what else it threw
  Clock::time_point start{}, finish{};  // virtual time
  std::size_t attempts = 0;             // reads it made

  Clock::duration took() const { return finish - start; }
  std::string outcome() const {
    if (!ended) return "never returned";
    if (returned) return note ? "returned the note" : "returned no note (std::nullopt)";
    if (error) return "threw " + error.message() + " (" + error.category().name() + ")";
    return "threw " + other;
  }
};

class RetryBackoff : public testing::Test {
 protected:
  RetryBackoff() {
    workbook::run_to_completion(ctx, ch06::add_sample_notes(db, 3), "adding sample notes");
    db.set_latency(OpKind::read, mockdb::Latency::fixed(kLatency));
    db.reset_stats();
  }

  static ch06::RetryPolicy policy(int max_attempts, Clock::duration base, Clock::duration cap,
                                  Clock::duration deadline, std::uint64_t seed = 1) {
    ch06::RetryPolicy p;
    p.max_attempts = max_attempts;
    p.base = base;
    p.cap = cap;
    p.deadline = deadline;
    p.seed = seed;
    return p;
  }

  // Runs load_note(id, p) to its end (or until nothing can resume it), under a
  // watchdog; with `watch_stalls`, on an executor the stall detector watches
  // (it reads the thread's scheduler statistics at every handler: a cost only
  // the tests about blocking need).
  Call load(Id id, const ch06::RetryPolicy& p, bool watch_stalls = false) {
    auto call = std::make_shared<Call>();
    const std::size_t before = counting.reads.size();
    call->start = Clock::now();
    auto record = [call](const std::exception_ptr& e, std::optional<mockdb::Row> note) {
      call->ended = true;
      call->finish = Clock::now();
      if (!e) {
        call->returned = true;
        call->note = std::move(note);
        return;
      }
      try {
        std::rethrow_exception(e);
      } catch (const boost::system::system_error& failure) {
        call->error = failure.code();
      } catch (const std::exception& other) {
        call->other = other.what();
      }
    };
    {
      workbook::Watchdog watchdog(5s, "load_note() of note " + std::to_string(id), &stalls);
      if (watch_stalls) {
        asio::co_spawn(stalls.wrap(ctx.get_executor(), "load_note"),
                       ch06::load_note(counting, id, p), record);
      } else {
        asio::co_spawn(ctx, ch06::load_note(counting, id, p), record);
      }
      workbook::run_until_idle(ctx);
    }
    if (!call->ended) call->finish = Clock::now();
    call->attempts = counting.reads.size() - before;
    return *call;
  }

  // "the test stopped answering after 10000": said when a loop never stopped.
  std::string stopped_answering() const {
    return counting.ceiling_reached
               ? format(" (and still going: the test stopped answering its reads after %zu)",
                        kCeiling)
               : std::string();
  }

  // Fails unless no handler held the loop thread longer than the budget.
  bool expect_no_stall() const {
    if (!stalls.stalled()) return true;
    ADD_FAILURE() << stalls.report()
                  << ": load_note() blocked the event-loop thread, so nothing else ran while it "
                     "waited. Wait with co_await workbook::sleep_for(wait), which suspends the "
                     "coroutine, not std::this_thread::sleep_for, which blocks the thread (and "
                     "in virtual time does not even move the clock).";
    return false;
  }

  // Fails unless the call returned note `id`.
  void expect_note(const Call& call, Id id, const std::string& context) const {
    if (call.returned && call.note) {
      EXPECT_EQ(call.note->at("title").as_string(), "note " + std::to_string(id))
          << "load_note() returned another note";
      return;
    }
    ADD_FAILURE() << context << ", load_note() " << call.outcome()
                  << format(" after %.1f ms", ms(call.took()))
                  << format(" and %zu attempts", call.attempts) << stopped_answering()
                  << "; expected note " << id << ".";
  }

  workbook::VirtualTime time;
  asio::io_context ctx;
  mockdb::MockDatabase db{mockdb::MockConfig{.max_connections = 0}};
  CountingDatabase counting{db};
  workbook::StallDetector stalls{15ms};
};

// The chapter's signature: a storm of retries through a 50 ms outage.
TEST_F(RetryBackoff, AnOutageIsNotARetryStorm) {
  const auto p = policy(8, 2ms, 100ms, 1s);
  const auto outage_start = Clock::now();
  db.outage(0ms, 50ms);
  const Call call = load(1, p, true);

  // The storm first: counted in virtual time, it cannot be hidden by a stall
  // the machine caused (a handler of 2,000 preempted by the hypervisor, whose
  // time the thread's statistics count as running).
  const std::size_t during = counting.reads_between(outage_start, outage_start + 50ms);
  if (during > static_cast<std::size_t>(p.max_attempts)) {
    ADD_FAILURE() << format(
                         "%zu attempts during the 50 ms outage; expected at most %d (the policy's "
                         "max_attempts)",
                         during, p.max_attempts)
                  << stopped_answering()
                  << ".\nA retry storm: the database refused each read within microseconds and "
                     "load_note() sent the next one at once. Count the attempts, and wait "
                     "between them, longer each time (exponential backoff).";
    return;
  }
  // A blocking sleep does not move the virtual clock: its attempts all fall in
  // the outage, within the budget, and its wait shows here.
  if (!expect_no_stall()) return;
  if (call.ended && !call.returned && call.error == Errc::unavailable && call.attempts == 1) {
    ADD_FAILURE() << "load_note() did not retry unavailable, a transient error "
                     "(mockdb::is_transient), and threw it after 1 attempt; expected it to retry "
                     "until the 50 ms outage was over. Decide what to retry with one predicate, "
                     "mockdb::is_transient(e.code()), not a list of codes.";
    return;
  }
  if (call.ended && !call.returned && call.error == Errc::unavailable) {
    ADD_FAILURE() << format(
        "load_note() gave up with unavailable after %zu attempts in %.2f ms, while the outage "
        "lasted 50 ms and the deadline allowed 1000 ms; expected it to wait between attempts "
        "(2 ms, then 4, 8, ...) and read the note once the outage was over. Its attempts "
        "came too close together: a budget of attempts without a wait between them is spent "
        "in an instant.",
        call.attempts, ms(call.took()));
    return;
  }
  expect_note(call, 1, "Through a 50 ms outage, with 8 attempts and 1000 ms allowed");
}

// The seed guide's backoff grows linearly (1 s, 2 s, 3 s, ...); a long outage
// shows the difference.
TEST_F(RetryBackoff, WaitsDoubleThroughALongOutage) {
  const auto p = policy(100, 1ms, 10s, 10s);
  const auto outage_start = Clock::now();
  db.outage(0ms, 2s);
  const Call call = load(1, p);
  if (!expect_no_stall()) return;
  const std::size_t during = counting.reads_between(outage_start, outage_start + 2s);
  EXPECT_LE(during, 16u) << format(
                                "%zu attempts during a 2000 ms outage, with waits from 1 ms; "
                                "expected at most 16: waits that double (1, 2, 4, ... ms) reach "
                                "past 2 s in about 12 attempts",
                                during)
                         << stopped_answering()
                         << ". The waits grew too slowly: linear backoff (base x attempt, "
                            "as the seed guide's) keeps a long outage busy with retries.";
  expect_note(call, 1, "Through a 2000 ms outage, with 100 attempts and 10 s allowed");
}

// A cap keeps the wait short once the database is back.
TEST_F(RetryBackoff, EachWaitIsCapped) {
  const auto p = policy(1000, 1ms, 20ms, 10s);
  const auto outage_end = Clock::now() + 1s;
  db.outage(0ms, 1s);
  const Call call = load(1, p);
  if (!expect_no_stall()) return;
  if (call.attempts > 250) {
    ADD_FAILURE() << format(
                         "%zu attempts during a 1000 ms outage with waits capped at 20 ms; "
                         "expected at most 250: some waits were close to zero. Do the doubled "
                         "waits overflow (base x 2^n past the range of the duration)?",
                         call.attempts)
                  << stopped_answering();
    return;
  }
  expect_note(call, 1, "Through a 1000 ms outage, with each wait capped at 20 ms");
  if (call.returned && call.finish > outage_end + 20ms + kLatency) {
    ADD_FAILURE() << format(
        "load_note() read the note %.1f ms after the outage ended; with each wait capped at "
        "20 ms, expected it within 20 ms. Cap each wait: min(cap, base x 2^n). An uncapped "
        "wait doubles past any outage (and past any deadline).",
        ms(call.finish - outage_end));
  }
}

// The caller always has an answer by the deadline, even if the outage lasts.
TEST_F(RetryBackoff, ALongOutageEndsAtTheDeadline) {
  const auto p = policy(100, 2ms, 100ms, 300ms);
  db.outage(0ms, 60s);
  const Call call = load(1, p);
  if (!expect_no_stall()) return;
  if (!call.ended || call.took() > p.deadline) {
    ADD_FAILURE() << "load_note() " << call.outcome()
                  << format(" after %.0f ms and %zu attempts", ms(call.took()), call.attempts)
                  << " during a 60 s outage; expected an answer by its deadline, 300 ms: "
                     "Errc::timed_out. Compute the deadline once, when the call starts, and do "
                     "not start a wait that ends past it.";
    return;
  }
  if (call.error != mockdb::ErrorClass::timed_out && call.attempts >= 100) {
    ADD_FAILURE() << "load_note() " << call.outcome()
                  << format(" after spending all %zu attempts in %.1f ms of a 60 s outage",
                            call.attempts, ms(call.took()))
                  << "; with waits from 2 ms, doubling up to 100 ms, 100 attempts take seconds, "
                     "so the deadline (300 ms) should have ended the call first, with "
                     "timed_out. The waits between attempts are missing or too short.";
    return;
  }
  EXPECT_EQ(call.error, mockdb::ErrorClass::timed_out)
      << "load_note() " << call.outcome()
      << format(" at %.0f ms, by the deadline of 300 ms", ms(call.took()))
      << "; expected mockdb::Errc::timed_out (ErrorClass::timed_out): the caller asked for an "
         "answer by a deadline, and timed_out says that this is what ended the call.";
}

// A read that hangs is cut off by the deadline, and cancelled.
TEST_F(RetryBackoff, AHungReadEndsAtTheDeadline) {
  const auto p = policy(8, 2ms, 100ms, 300ms);
  db.hang_next(1, OpKind::read);
  const Call call = load(1, p);
  const std::size_t left = db.stats()[OpKind::read].in_flight;
  if (!call.ended || call.took() > p.deadline) {
    ADD_FAILURE() << "load_note() " << call.outcome() << format(" after %.0f ms", ms(call.took()))
                  << " when its first read hung; expected Errc::timed_out by the deadline, "
                     "300 ms. A deadline checked only between attempts never comes while an "
                     "attempt hangs: make each attempt with read_by(db, id, deadline).";
    return;
  }
  EXPECT_EQ(call.error, mockdb::ErrorClass::timed_out)
      << "load_note() " << call.outcome() << " when its read hung; expected timed_out";
  EXPECT_EQ(left, 0u) << left
                      << " reads were still running when load_note() threw; expected "
                         "the hung read to be cancelled.";
}

// A read that hangs on a later attempt is cut off by the call's deadline too:
// the deadline is the call's, not each attempt's.
TEST_F(RetryBackoff, AHungRetryEndsAtTheCallsDeadline) {
  const auto p = policy(20, 2ms, 100ms, 300ms);
  db.outage(0ms, 150ms);
  db.hang_next(1, OpKind::read);  // the outage comes first: the first read after it hangs
  const Call call = load(1, p);
  const std::size_t left = db.stats()[OpKind::read].in_flight;
  if (!call.ended) {
    ADD_FAILURE() << "load_note() " << call.outcome() << format(" (%zu attempts)", call.attempts)
                  << " when its reads failed through a 150 ms outage and the next one hung; "
                     "expected Errc::timed_out at the deadline, 300 ms after the call started. "
                     "A deadline checked only between attempts never comes while an attempt "
                     "hangs: make each attempt with read_by(db, id, deadline).";
    return;
  }
  if (call.took() > p.deadline) {
    ADD_FAILURE() << "load_note() " << call.outcome()
                  << format(" %.1f ms after the call started (%zu attempts)", ms(call.took()),
                            call.attempts)
                  << " when its reads failed through a 150 ms outage and the next one hung; "
                     "expected Errc::timed_out at the call's deadline, 300 ms. The deadline "
                     "restarted with an attempt: read_by(db, id, now() + policy.deadline) gives "
                     "each attempt a deadline of its own, and an attempt that hangs late runs "
                     "past the caller's. Compute the deadline once, when the call starts, and "
                     "pass that same time point to every read_by().";
    return;
  }
  EXPECT_EQ(call.error, mockdb::ErrorClass::timed_out)
      << "load_note() " << call.outcome()
      << " when a read after a 150 ms outage hung; expected timed_out";
  EXPECT_EQ(left, 0u) << left
                      << " reads were still running when load_note() threw; expected "
                         "the hung read to be cancelled.";
}

// Errors that trying again cannot fix.
class PermanentErrors : public RetryBackoff, public testing::WithParamInterface<Errc> {};

TEST_P(PermanentErrors, AreNotRetried) {
  const Errc code = GetParam();
  const auto p = policy(8, 2ms, 100ms, 1s);
  db.fail_next(mockdb::MockDatabase::kForever, code, OpKind::read);
  const Call call = load(1, p);
  if (call.attempts > 1) {
    ADD_FAILURE() << "retried a non-transient error: the read failed with "
                  << make_error_code(code).message() << " (SQLSTATE " << mockdb::sqlstate(code)
                  << "), which no retry can fix, and load_note() made "
                  << format("%zu attempts", call.attempts) << stopped_answering()
                  << "; expected 1 attempt, and the error thrown to the caller at once. Retry "
                     "only what mockdb::is_transient(e.code()) accepts.";
    return;
  }
  EXPECT_EQ(call.error, code) << "load_note() " << call.outcome() << "; expected it to throw "
                              << make_error_code(code).message() << ", the read's own error";
}

INSTANTIATE_TEST_SUITE_P(RetryBackoff, PermanentErrors,
                         testing::Values(Errc::permission_denied, Errc::query_syntax,
                                         Errc::no_such_table, Errc::bad_parameter),
                         [](const auto& info) {
                           return std::string(mockdb::sqlstate(info.param));
                         });

TEST_F(RetryBackoff, AMissingNoteIsAnAnswer) {
  const auto p = policy(8, 2ms, 100ms, 1s);
  const Call call = load(999, p);
  if (call.attempts > 1) {
    ADD_FAILURE() << "retried a missing row: note 999 does not exist, and load_note() read it "
                  << format("%zu times", call.attempts) << stopped_answering()
                  << "; expected it to return std::nullopt after 1 read. No row is an answer "
                     "from a working database, not a failure: trying again gives the same one.";
    return;
  }
  EXPECT_TRUE(call.returned && !call.note) << "load_note() of a note that does not exist "
                                           << call.outcome() << "; expected std::nullopt";
}

// Errors that may go away: each one is retried.
class TransientErrors : public RetryBackoff, public testing::WithParamInterface<Errc> {};

TEST_P(TransientErrors, AreRetried) {
  const Errc code = GetParam();
  const auto p = policy(8, 2ms, 100ms, 1s);
  db.fail_next(2, code, OpKind::read);
  const Call call = load(1, p);
  if (call.ended && !call.returned && call.error == code && call.attempts < 3) {
    ADD_FAILURE() << "load_note() did not retry " << make_error_code(code).message()
                  << format(
                         ", a transient error (mockdb::is_transient), and threw it after %zu "
                         "attempt(s)",
                         call.attempts)
                  << "; expected it to retry and read the note on attempt 3. Which errors to "
                     "retry is one predicate, mockdb::is_transient(e.code()): a hand-written "
                     "list of codes misses some.";
    return;
  }
  expect_note(call, 1, "With 2 reads failing with " + make_error_code(code).message());
  EXPECT_EQ(call.attempts, 3u) << "the first 2 reads failed; expected the third to be the last";
}

INSTANTIATE_TEST_SUITE_P(RetryBackoff, TransientErrors,
                         testing::Values(Errc::connection_reset, Errc::too_many_connections,
                                         Errc::unavailable, Errc::timed_out),
                         [](const auto& info) {
                           return std::string(mockdb::sqlstate(info.param));
                         });

// Another backend's code for the same condition: is_transient compares the
// condition a code maps onto, where a list of the mock's codes compares codes.
TEST_F(RetryBackoff, AnotherBackendsTransientCodeIsRetried) {
  const boost::system::error_code starting_up = other_backend_starting_up();
  const auto p = policy(8, 2ms, 100ms, 1s);
  db.fail_next(2, starting_up, OpKind::read);
  const Call call = load(1, p);
  if (call.ended && !call.returned && call.error == starting_up && call.attempts < 3) {
    ADD_FAILURE() << "load_note() did not retry \"" << starting_up.message() << "\" (code "
                  << starting_up.value() << " of another backend's category, "
                  << starting_up.category().name() << ", which maps onto ErrorClass::unavailable)"
                  << format(" and threw it after %zu attempt(s)", call.attempts)
                  << "; expected it retried like the mock's Errc::unavailable, and the note read "
                     "on attempt 3. A list of one backend's codes misses other backends' codes "
                     "for the same condition: decide with mockdb::is_transient(e.code()), which "
                     "asks which condition the code maps onto.";
    return;
  }
  expect_note(call, 1, "With 2 reads failing with another backend's \"starting up\"");
  EXPECT_EQ(call.attempts, 3u) << "the first 2 reads failed; expected the third to be the last";
}

TEST_F(RetryBackoff, GivesUpAfterMaxAttempts) {
  const auto p = policy(4, 2ms, 100ms, 10s);
  db.fail_next(mockdb::MockDatabase::kForever, Errc::connection_reset, OpKind::read);
  const Call call = load(1, p);
  EXPECT_EQ(call.attempts, 4u) << format("load_note() made %zu attempts", call.attempts)
                               << stopped_answering()
                               << " against reads that always fail with connection_reset; "
                                  "expected max_attempts = 4, then the last error";
  if (call.attempts == 4) {
    EXPECT_EQ(call.error, Errc::connection_reset)
        << "after 4 failed attempts load_note() " << call.outcome()
        << "; expected the last error, connection_reset";
  }
}

// 100 clients through one outage, each with its own seed.
class ManyClients : public RetryBackoff {
 protected:
  static constexpr int kClients = 100;

  struct Run {
    std::vector<Clock::duration> retries;  // when each retry started, from the run's start
    int succeeded = 0;
    std::size_t peak = 0;  // the most retries starting within any 1 ms
    Clock::duration peak_at{};
  };

  Run run_clients() {
    mockdb::MockDatabase fresh{mockdb::MockConfig{.max_connections = 0}};
    workbook::run_to_completion(ctx, ch06::add_sample_notes(fresh, 1), "adding a note");
    fresh.set_latency(OpKind::read, mockdb::Latency::fixed(kLatency));
    CountingDatabase seen(fresh);
    const auto start = Clock::now();
    fresh.outage(0ms, 300ms);
    Run run;
    {
      workbook::Watchdog watchdog(5s, "100 clients calling load_note()", &stalls);
      for (int c = 0; c < kClients; ++c) {
        const auto p = policy(20, 10ms, 200ms, 5s, static_cast<std::uint64_t>(c) + 1);
        asio::co_spawn(stalls.wrap(ctx.get_executor(), "client " + std::to_string(c)),
                       ch06::load_note(seen, 1, p),
                       [&run](const std::exception_ptr& e, const std::optional<mockdb::Row>& n) {
                         if (!e && n) ++run.succeeded;
                       });
      }
      workbook::run_until_idle(ctx);
    }
    // Every client's first attempt is at the start, together by design: the
    // retries are what jitter is for.
    for (const auto t : seen.reads) {
      if (t > start) run.retries.push_back(t - start);
    }
    std::sort(run.retries.begin(), run.retries.end());
    std::size_t first = 0;
    for (std::size_t last = 0; last < run.retries.size(); ++last) {
      while (run.retries[last] - run.retries[first] >= 1ms) ++first;
      if (last - first + 1 > run.peak) {
        run.peak = last - first + 1;
        run.peak_at = run.retries[first];
      }
    }
    ceiling_ = ceiling_ || seen.ceiling_reached;
    return run;
  }

  // When the client with `seed` retried (from its start) through a 100 ms
  // outage, with `neighbours` other clients (seeds seed+1, seed+2, ...)
  // calling load_note() beside it on the same database.
  std::vector<Clock::duration> retries_of(std::uint64_t seed, int neighbours) {
    mockdb::MockDatabase fresh{mockdb::MockConfig{.max_connections = 0}};
    workbook::run_to_completion(ctx, ch06::add_sample_notes(fresh, 1), "adding a note");
    fresh.set_latency(OpKind::read, mockdb::Latency::fixed(kLatency));
    CountingDatabase mine(fresh);    // the reads of the client watched
    CountingDatabase theirs(fresh);  // its neighbours' reads
    const auto start = Clock::now();
    fresh.outage(0ms, 100ms);
    {
      workbook::Watchdog watchdog(5s, "clients calling load_note()", &stalls);
      const auto ignore = [](const std::exception_ptr&, const std::optional<mockdb::Row>&) {};
      asio::co_spawn(ctx, ch06::load_note(mine, 1, policy(20, 10ms, 200ms, 5s, seed)), ignore);
      for (int c = 1; c <= neighbours; ++c) {
        const auto p = policy(20, 10ms, 200ms, 5s, seed + static_cast<std::uint64_t>(c));
        asio::co_spawn(ctx, ch06::load_note(theirs, 1, p), ignore);
      }
      workbook::run_until_idle(ctx);
    }
    std::vector<Clock::duration> retries;
    for (const auto t : mine.reads) {
      if (t > start) retries.push_back(t - start);
    }
    return retries;
  }

  bool ceiling_ = false;
};

TEST_F(ManyClients, RetriesSpreadOutInsteadOfArrivingInWaves) {
  const Run run = run_clients();
  if (!expect_no_stall()) return;
  // The figures the lesson quotes: the peak, and the retries in each 10 ms.
  std::printf(
      "100 clients through a 300 ms outage: %zu retries; at most %zu within 1 ms (t=%.1f ms)\n",
      run.retries.size(), run.peak, ms(run.peak_at));
  std::vector<std::size_t> per_10ms(40);
  for (const auto t : run.retries) ++per_10ms[std::min<std::size_t>(39, t / 10ms)];
  std::printf("retries per 10 ms:");
  for (const auto n : per_10ms) std::printf(" %zu", n);
  std::printf("\n");
  EXPECT_LE(run.peak, 40u)
      << format(
             "%zu retries started within 1 ms (from t=%.1f ms) when 100 clients retried through "
             "one 300 ms outage; expected at most 40",
             run.peak, ms(run.peak_at))
      << (ceiling_ ? " (and the clients were still going when the test stopped answering)" : "")
      << ".\nThe clients retried in synchronised waves: each wave hits the database at one "
         "instant, as the outage did. Draw each wait at random (jitter), from a generator "
         "seeded with policy.seed: clients with the same waits, or the same seed, stay in step.";
  EXPECT_EQ(run.succeeded, kClients)
      << run.succeeded << " of 100 clients read the note; expected all of them (20 attempts, "
      << "waits from 10 ms, 5 s allowed, for a 300 ms outage)";
}

TEST_F(ManyClients, TheSameSeedsRetryAtTheSameTimes) {
  const Run first = run_clients();
  const Run second = run_clients();
  if (first.retries != second.retries) {
    ADD_FAILURE() << format(
        "two runs of 100 clients with the same seeds retried at different times (%zu and %zu "
        "retries); expected the same times: the jitter must come from a generator seeded with "
        "policy.seed, so that a test (or a bug report) repeats. std::random_device is not "
        "repeatable.",
        first.retries.size(), second.retries.size());
  }
}

// One client's waits depend on its own seed only: alone, or beside others.
TEST_F(ManyClients, AClientRetriesAtTheSameTimesAloneAndBesideOthers) {
  constexpr std::uint64_t kSeed = 5;
  const std::vector<Clock::duration> alone = retries_of(kSeed, 0);
  const std::vector<Clock::duration> again = retries_of(kSeed, 0);
  if (alone != again) {
    ADD_FAILURE() << format(
        "two runs of one client with seed %d, alone, retried at different times (%zu and %zu "
        "retries); expected the same times: the jitter must come from a generator seeded with "
        "policy.seed, so that a test (or a bug report) repeats.",
        static_cast<int>(kSeed), alone.size(), again.size());
    return;
  }
  const std::vector<Clock::duration> beside = retries_of(kSeed, 10);
  if (alone != beside) {
    std::size_t i = 0;
    while (i < alone.size() && i < beside.size() && alone[i] == beside[i]) ++i;
    const auto at = [](const std::vector<Clock::duration>& times, std::size_t n) {
      return n < times.size() ? format("at %.3f ms", ms(times[n])) : std::string("never");
    };
    ADD_FAILURE() << format(
                         "a client with seed %d retried at other times beside 10 clients "
                         "(seeds 6 to 15) than alone: its retry %zu came ",
                         static_cast<int>(kSeed), i + 1)
                  << at(alone, i) << " alone and " << at(beside, i)
                  << " beside them (its last retry: " << at(alone, alone.size() - 1) << " alone, "
                  << at(beside, beside.size() - 1)
                  << " beside); expected the same times: a client's waits must depend on its "
                     "own seed only. The clients share one generator (static, thread_local or "
                     "global): each call reseeds it and every client draws from it, so a "
                     "client's waits depend on who else runs. Give each call a generator of its "
                     "own: std::mt19937_64 jitter(policy.seed) inside load_note().";
  }
}

}  // namespace
