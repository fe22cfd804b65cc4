// Chapter 05's test, built against the pitfall and against the fix.
//
// Reads and queries of 10 ms, in virtual time, against a database that can be
// made to hang (hang_next) or to be slow. A request must end by its deadline:
// with Errc::timed_out, at exactly its limit (the call's own, else its
// service's), with the abandoned operation cancelled and ended before the
// error reaches the caller (no operation in flight, no connection held). A
// request that beats its deadline must be untouched: its result, or its own
// database error, at once. The pitfall checks the deadline only after the
// read has completed, so against a hanging read the request never completes,
// and the runner says so at once (NeverCompleted) instead of hanging.
//
// Every call is observed from outside (see call()): when it ended, how, and
// what was still in flight at that moment. The gallery of wrong fixes in
// wrong-fixes/ is what these checks are written against: each failure message
// names the mistake, with the figures.
#include <gtest/gtest.h>

#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mockdb/errors.hpp"
#include "mockdb/mock_database.hpp"
#include "note_service.hpp"
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

constexpr auto kLatency = 10ms;
constexpr int kNotes = 10;

using workbook::format;

double ms(Clock::duration d) { return workbook::to_ms(d); }

// What one request did, seen from outside.
template <typename T>
struct Call {
  std::string what;                  // "get_note(7) with a timeout of 50 ms"
  std::optional<T> value;            // what it returned; empty if it threw or never completed
  std::exception_ptr thrown;         // what it threw
  std::string never_completed;       // the runner's report, if the request never completed
  Clock::duration took{};            // until it returned or threw, in virtual time
  std::size_t left_in_flight = 0;    // database operations still running at that moment
  std::size_t open_connections = 0;  // connections still borrowed at that moment

  bool completed() const { return never_completed.empty(); }
};

// The error code and message of a thrown exception, if it is a
// boost::system::system_error (DatabaseError is one).
struct Thrown {
  bool is_system_error = false;
  bool is_database_error = false;
  boost::system::error_code code;
  std::string message;
};

Thrown inspect(const std::exception_ptr& thrown) {
  Thrown t;
  if (!thrown) {
    t.message = "nothing (no exception)";
    return t;
  }
  try {
    std::rethrow_exception(thrown);
  } catch (const mockdb::DatabaseError& e) {
    t = {true, true, e.code(), e.what()};
  } catch (const boost::system::system_error& e) {
    t = {true, false, e.code(), e.what()};
  } catch (const std::exception& e) {
    t.message = e.what();
  } catch (...) {
    t.message = "an exception that is not a std::exception";
  }
  return t;
}

// with_timeout() of an awaitable<void>: a sleep of `sleep` on the workbook
// clock, with a deadline of `limit`. True if the sleep ended first.
asio::awaitable<bool> sleep_with_timeout(Clock::duration sleep, Clock::duration limit) {
  co_await ch05::with_timeout(workbook::sleep_for(sleep), limit, "waiting");
  co_return true;
}

class Timeouts : public testing::Test {
 protected:
  Timeouts() {
    workbook::run_to_completion(ctx, ch05::add_sample_notes(db, kNotes), "adding sample notes");
    db.set_latency(mockdb::Latency::fixed(kLatency));
    db.reset_stats();
    db.trace().clear();
  }

  // Runs `task` (named `what` in messages) to its end and observes it. A
  // request that can never complete is reported by the runner at once
  // (NeverCompleted), in virtual time; the watchdog is there for a thread
  // blocked for good (a std::this_thread::sleep_for of the timeout's length in
  // real time is not that, and ends on its own).
  template <typename T>
  Call<T> call(const std::string& what, asio::awaitable<T> task) {
    Call<T> seen;
    seen.what = what;
    workbook::Watchdog watchdog(10s, seen.what);
    const auto start = Clock::now();
    try {
      workbook::run_to_completion(ctx, observe(std::move(task), seen), seen.what);
    } catch (const workbook::NeverCompleted& e) {
      seen.never_completed = e.what();
      seen.took = Clock::now() - start;  // how far virtual time got before nothing could run
    }
    return seen;
  }

  // call() for a caller that gives up: `task` races a timer of `patience`
  // (operator||), which cancels it when it fires, as a client that hangs up
  // or a shorter deadline around the request would. What is observed is the
  // request itself: when it ended, how, and what it left in flight.
  template <typename T>
  Call<T> call_and_give_up(const std::string& what, asio::awaitable<T> task,
                           Clock::duration patience) {
    Call<T> seen;
    seen.what = what;
    workbook::Watchdog watchdog(10s, seen.what);
    const auto start = Clock::now();
    try {
      workbook::run_to_completion(ctx, give_up(observe(std::move(task), seen), patience),
                                  seen.what);
    } catch (const workbook::NeverCompleted& e) {
      seen.never_completed = e.what();
      seen.took = Clock::now() - start;
    }
    return seen;
  }

  // Races `observed` against a sleep of `patience`: the loser is cancelled
  // (terminal), and waited for.
  static asio::awaitable<void> give_up(asio::awaitable<void> observed, Clock::duration patience) {
    using namespace asio::experimental::awaitable_operators;
    auto race = std::move(observed) || workbook::sleep_for(patience);
    co_await std::move(race);
  }

  // Awaits `task` and writes down what it did the moment it ended. `seen` is
  // borrowed (against CP.53) only because call() runs this to its end before
  // `seen` goes away; if the run gives up (NeverCompleted), the frame is
  // destroyed with `ctx`, never resumed.
  template <typename T>
  asio::awaitable<void> observe(asio::awaitable<T> task, Call<T>& seen) {
    const auto start = Clock::now();
    try {
      seen.value.emplace(co_await std::move(task));
    } catch (...) {
      seen.thrown = std::current_exception();
    }
    seen.took = Clock::now() - start;
    const mockdb::Stats stats = db.stats();
    seen.left_in_flight = stats.total.in_flight;
    seen.open_connections = stats.open_connections;
  }

  // Fails unless the request completed: "request never completed: ...".
  template <typename T>
  bool expect_completed(const Call<T>& seen, Clock::duration limit) const {
    if (seen.completed()) return true;
    const std::string never = format(
        "request never completed: %s was still waiting for a database operation that hangs, "
        "and nothing was left that could wake it; expected it to fail with Errc::timed_out "
        "after %.0f ms.\n",
        seen.what.c_str(), ms(limit));
    if (seen.took >= limit) {
      // The clock reached the deadline: a timer fired, and the request still waited.
      ADD_FAILURE() << never
                    << format(
                           "The deadline did fire (virtual time reached %.0f ms), but the "
                           "request went on waiting for the operation",
                           ms(seen.took))
                    << ": the race waits for both sides (operator&& instead of operator||), or "
                       "the cancellation never reached the operation (a cancellation_type it "
                       "ignores: a coroutine started by co_spawn lets only terminal "
                       "cancellation through). The loser must be cancelled with "
                       "cancellation_type::terminal (or all), and then it ends.\nThe runner's "
                       "report: "
                    << seen.never_completed;
      return false;
    }
    ADD_FAILURE() << never
                  << "No deadline fired while the operation was pending. A deadline checked "
                     "after the operation returns never runs when it does not return: race the "
                     "operation against a workbook::Timer (operator|| or a parallel group), so "
                     "the timer can end the wait. (A plain asio::steady_timer or a std::chrono "
                     "clock does not follow virtual time either.)\nThe runner's report: "
                  << seen.never_completed;
    return false;
  }

  // Fails unless the request left nothing behind when it ended: "query still
  // in flight after timeout: ...".
  template <typename T>
  bool expect_nothing_left_behind(const Call<T>& seen) const {
    if (seen.left_in_flight == 0 && seen.open_connections == 0) return true;
    ADD_FAILURE() << format(
                         "query still in flight after timeout: %s ended after %.0f ms while %zu "
                         "database operation(s) were still in flight, holding %zu connection(s)",
                         seen.what.c_str(), ms(seen.took), seen.left_in_flight,
                         seen.open_connections)
                  << "; expected the abandoned operation to be cancelled and to have ended "
                     "before the request returns, with its connection released.\nAn operation "
                     "spawned detached and raced through a channel or a flag keeps running "
                     "(a hang holds its connection for good); one cancelled but not waited for "
                     "is still running when the request returns. Let the race cancel the loser "
                     "and wait for it: operator|| and make_parallel_group both do.";
    return false;
  }

  // The checks of a request that must time out after exactly `limit`, with
  // the operation(s) cancelled and ended; `limit_from` says where the limit came from.
  template <typename T>
  void expect_timed_out(const Call<T>& seen, Clock::duration limit, const char* limit_from) {
    if (!expect_completed(seen, limit)) return;
    if (!seen.thrown) {
      const bool looks_empty = seen.value && !value_present(*seen.value);
      if (looks_empty && seen.took == limit) {
        ADD_FAILURE() << format(
                             "%s returned \"no such note\" (std::nullopt) at its deadline, "
                             "%.0f ms; expected mockdb::DatabaseError with Errc::timed_out",
                             seen.what.c_str(), ms(seen.took))
                      << ".\nA timeout that returns an empty result makes a hang look like a "
                         "missing note: the page says \"not found\" and nobody learns the "
                         "database is stuck. Throw the typed error (throw_timed_out), so the "
                         "caller can tell the two apart and retry.";
      } else {
        ADD_FAILURE() << format(
                             "%s returned %s after %.0f ms, with a timeout of %.0f ms (%s); "
                             "expected Errc::timed_out at %.0f ms: the deadline never fired, or "
                             "fired and was restarted",
                             seen.what.c_str(), looks_empty ? "an empty result" : "its result",
                             ms(seen.took), ms(limit), limit_from, ms(limit))
                      << ".\nEither nothing raced the operation, or the timer that did does "
                         "not follow virtual time (a plain asio::steady_timer, a std::chrono "
                         "clock: the test's slow database took its time in virtual time, which "
                         "they do not see; use workbook::Timer), or the deadline was applied "
                         "to each step or each attempt, and restarted.";
      }
      expect_nothing_left_behind(seen);
      return;
    }
    const Thrown t = inspect(seen.thrown);
    if (t.code != mockdb::ErrorClass::timed_out) {
      ADD_FAILURE() << format("%s threw \"%s\" after %.0f ms; expected Errc::timed_out at %.0f ms",
                              seen.what.c_str(), t.message.c_str(), ms(seen.took), ms(limit))
                    << ", a mockdb::DatabaseError whose code compares equal to "
                       "ErrorClass::timed_out (throw_timed_out makes one), so callers can tell "
                       "a timeout from other failures.";
      expect_nothing_left_behind(seen);
      return;
    }
    if (!t.is_database_error) {
      ADD_FAILURE() << seen.what << " threw a system_error with the timed_out code, but not a "
                    << "mockdb::DatabaseError: callers catch DatabaseError. Use throw_timed_out.";
    }
    if (seen.took > limit) {
      ADD_FAILURE() << format(
                           "%s timed out only after %.0f ms; expected Errc::timed_out at %.0f ms, "
                           "when the deadline passed: %s of %.0f ms was not applied in time",
                           seen.what.c_str(), ms(seen.took), ms(limit), limit_from, ms(limit))
                    << ".\nA late timeout means the deadline was checked after the operation "
                       "completed instead of racing it (a hang never completes, so it would "
                       "never time out), or measured for each step or attempt instead of the "
                       "whole request, or hard-coded instead of taken from the call or the "
                       "service.";
    } else if (seen.took < limit) {
      ADD_FAILURE() << format(
                           "%s timed out after %.0f ms; expected it to wait the whole %.0f ms: "
                           "%s of %.0f ms was not applied",
                           seen.what.c_str(), ms(seen.took), ms(limit), limit_from, ms(limit))
                    << (seen.took == Clock::duration::zero()
                            ? ".\nIt timed out before any workbook time had passed: the deadline "
                              "did not wait on the workbook clock. A std::this_thread::sleep_for "
                              "(or any wait in real time) takes no virtual time at all, and "
                              "blocks the event loop while it sleeps: wait with workbook::Timer."
                            : ".\nThe limit the request uses is not the one it was given: take "
                              "the call's own timeout if it has one, else the service's default, "
                              "and never a constant.");
    }
    const std::string limit_text = format("%.0f ms", ms(limit));
    EXPECT_NE(t.message.find(limit_text), std::string::npos)
        << "the timeout's message should say the limit (\"" << limit_text << "\"); it says \""
        << t.message << "\"";
    expect_nothing_left_behind(seen);
  }

  static bool value_present(const std::optional<mockdb::Row>& note) { return note.has_value(); }
  static bool value_present(const std::optional<ch05::Page>& page) { return page.has_value(); }
  template <typename T>
  static bool value_present(const T&) {
    return true;
  }

  // The outcome of every read or query the database saw, for messages.
  std::uint64_t cancelled(OpKind kind) const { return db.stats()[kind].cancelled; }

  workbook::VirtualTime time;
  mockdb::MockDatabase db;  // before ctx: frames left in ctx are destroyed first
  asio::io_context ctx;
};

// ---- The signature test: a read that hangs ----

TEST_F(Timeouts, HangingReadTimesOut) {
  ch05::NoteService notes(db, 50ms);
  db.hang_next(1, OpKind::read);
  const auto seen = call("get_note(7) with the service's timeout of 50 ms", notes.get_note(7));
  expect_timed_out(seen, 50ms, "the service's default");
  if (!seen.completed()) return;
  const Thrown t = seen.thrown ? inspect(seen.thrown) : Thrown{};
  if (t.code == mockdb::ErrorClass::timed_out) {
    EXPECT_NE(t.message.find("note 7"), std::string::npos)
        << R"(the timeout's message should say what timed out ("reading note 7"); it says ")"
        << t.message << "\"";
  }
  EXPECT_EQ(cancelled(OpKind::read), 1u)
      << "the read that hung must be cancelled by the timeout (the database counts "
      << "cancellations); it counted " << cancelled(OpKind::read);
}

TEST_F(Timeouts, SlowReadTimesOutAtTheDeadline) {
  // Not a hang: a read that takes 10 s. It would complete, long after anyone wanted it.
  ch05::NoteService notes(db, 50ms);
  db.set_latency(OpKind::read, mockdb::Latency::fixed(10s));
  const auto seen = call("get_note(7) with the service's timeout of 50 ms (the read takes 10 s)",
                         notes.get_note(7));
  expect_timed_out(seen, 50ms, "the service's default");
  EXPECT_EQ(cancelled(OpKind::read), 1u) << "the slow read must be cancelled at the deadline, "
                                            "not left to finish";
}

// ---- The duration is configurable: per service, and per call ----

TEST_F(Timeouts, PerCallTimeoutOverridesTheServiceDefault) {
  ch05::NoteService notes(db, 200ms);
  db.hang_next(1, OpKind::read);
  const auto seen =
      call("get_note(7, 30 ms) of a service whose default is 200 ms", notes.get_note(7, 30ms));
  expect_timed_out(seen, 30ms, "the call's own timeout");
}

TEST_F(Timeouts, PerCallTimeoutCanBeLongerThanTheDefault) {
  // The read takes 300 ms; the call allows 500 ms, the service 200 ms.
  ch05::NoteService notes(db, 200ms);
  db.set_latency(OpKind::read, mockdb::Latency::fixed(300ms));
  const auto seen = call(
      "get_note(7, 500 ms) of a service whose default is 200 ms (the read "
      "takes 300 ms)",
      notes.get_note(7, 500ms));
  if (!expect_completed(seen, 500ms)) return;
  if (seen.thrown) {
    ADD_FAILURE() << format(
                         "%s threw \"%s\" after %.0f ms; expected note 7 after 300 ms, "
                         "within the call's own timeout of 500 ms",
                         seen.what.c_str(), inspect(seen.thrown).message.c_str(), ms(seen.took))
                  << ".\nThe call's timeout replaces the service's default, longer or shorter: "
                     "timeout.value_or(default), never a constant or the smaller of the two.";
    return;
  }
  EXPECT_TRUE(seen.value && *seen.value) << "note 7 exists and was read in time";
  EXPECT_EQ(seen.took, 300ms) << format("expected the read's 300 ms; it took %.0f ms",
                                        ms(seen.took));
  expect_nothing_left_behind(seen);
}

TEST_F(Timeouts, EachServiceHasItsOwnDefault) {
  for (const auto limit : {80ms, 120ms}) {
    ch05::NoteService notes(db, limit);
    db.hang_next(1, OpKind::read);
    const auto seen = call(format("get_note(3) of a service whose default is %.0f ms", ms(limit)),
                           notes.get_note(3));
    expect_timed_out(seen, limit, "the service's default");
    if (!seen.completed()) return;  // its hung read stays pending in ctx
  }
}

// ---- A request that beats its deadline is untouched ----

TEST_F(Timeouts, FastReadIsNotDelayed) {
  ch05::NoteService notes(db, 50ms);
  const auto seen =
      call("get_note(7) with a timeout of 50 ms (the read takes 10 ms)", notes.get_note(7));
  if (!expect_completed(seen, 50ms)) return;
  if (seen.thrown) {
    ADD_FAILURE() << seen.what << " threw \"" << inspect(seen.thrown).message
                  << "\"; expected note 7 after 10 ms";
    return;
  }
  ASSERT_TRUE(seen.value && *seen.value) << "note 7 exists, yet get_note() did not return it";
  EXPECT_EQ((**seen.value).at("title").as_string(), "note 7");
  if (seen.took != kLatency) {
    ADD_FAILURE() << format("%s returned after %.0f ms; expected 10 ms, the read's latency",
                            seen.what.c_str(), ms(seen.took))
                  << ".\nIt waited for the timer after the read had completed: the race must "
                     "end with the first to finish (operator||, not operator&&) and cancel the "
                     "timer.";
  }
  EXPECT_EQ(cancelled(OpKind::read), 0u) << "a read that completed in time was cancelled";
  expect_nothing_left_behind(seen);
}

TEST_F(Timeouts, FastReadLeavesNoTimerPending) {
  // A timeout of 30 s, a read of 10 ms: once the note is back, nothing of the
  // deadline may be left waiting in the event loop.
  ch05::NoteService notes(db, 30s);
  const auto seen =
      call("get_note(7) with a timeout of 30 s (the read takes 10 ms)", notes.get_note(7));
  if (!expect_completed(seen, 30s)) return;
  ASSERT_FALSE(seen.thrown) << seen.what << " threw \"" << inspect(seen.thrown).message
                            << "\"; expected note 7 after 10 ms";
  const auto answered = Clock::now();
  workbook::run_until_idle(ctx);  // runs what the request left behind, advancing virtual time
  const auto left_waiting = Clock::now() - answered;
  if (left_waiting > Clock::duration::zero()) {
    ADD_FAILURE() << format(
                         "timer left pending: %s answered after %.0f ms, but its deadline was "
                         "still waiting: the event loop went idle only %.0f ms after the "
                         "answer, when the timer fired for nothing; expected nothing of the "
                         "timeout left once the request has returned (idle at once, 0 ms)",
                         seen.what.c_str(), ms(seen.took), ms(left_waiting))
                  << ".\nA deadline that is not cancelled when the operation wins stays in the "
                     "loop for its whole length, one per request, with its handler and "
                     "everything it holds: a server that shuts down waits for the longest of "
                     "them. Cancel the timer when the operation ends first (deadline.cancel(), "
                     "or let operator|| cancel the loser).";
  }
}

TEST_F(Timeouts, OneMillisecondReadIsNotDelayed) {
  // Latencies and limits that are not round numbers: the answer comes the
  // moment the read ends, not at the next tick of some clock.
  ch05::NoteService notes(db, 50ms);
  db.set_latency(OpKind::read, mockdb::Latency::fixed(1ms));
  const auto seen =
      call("get_note(7) with a timeout of 50 ms (the read takes 1 ms)", notes.get_note(7));
  if (!expect_completed(seen, 50ms)) return;
  ASSERT_FALSE(seen.thrown) << seen.what << " threw \"" << inspect(seen.thrown).message
                            << "\"; expected note 7 after 1 ms";
  ASSERT_TRUE(seen.value && *seen.value) << "note 7 exists, yet get_note() did not return it";
  if (seen.took != 1ms) {
    ADD_FAILURE() << format(
                         "%s answered after %.2f ms, %.2f ms late; expected the answer the "
                         "moment the read ended, at 1 ms",
                         seen.what.c_str(), ms(seen.took), ms(seen.took - 1ms))
                  << ".\nLooking at intervals whether the operation has ended (a loop of "
                     "sleep_for(5 ms)) makes every answer late by up to the interval, and every "
                     "deadline too. Wait for the operation and the timer themselves: race them "
                     "(operator||), so that the first to end resumes the request at once.";
  }
  expect_nothing_left_behind(seen);
}

TEST_F(Timeouts, DeadlineOf23MsFiresAt23Ms) {
  ch05::NoteService notes(db, 50ms);
  db.hang_next(1, OpKind::read);
  const auto seen = call("get_note(8, 23 ms) of a read that hangs", notes.get_note(8, 23ms));
  if (!expect_completed(seen, 23ms)) return;
  const Thrown t = inspect(seen.thrown);
  if (t.code == mockdb::ErrorClass::timed_out && seen.took > 23ms && seen.took < 50ms) {
    ADD_FAILURE() << format(
                         "%s timed out after %.2f ms, %.2f ms late; expected Errc::timed_out at "
                         "exactly 23 ms, its deadline",
                         seen.what.c_str(), ms(seen.took), ms(seen.took - 23ms))
                  << ".\nA deadline looked at from time to time (a loop that sleeps a few ms, "
                     "then compares the clock with the limit) fires at the first look after "
                     "it has passed. Let a workbook::Timer set to the limit wake the request: "
                     "race it against the operation (operator||).";
    expect_nothing_left_behind(seen);
    return;
  }
  expect_timed_out(seen, 23ms, "the call's own timeout");
}

// ---- The caller's cancellation reaches the operation ----

TEST_F(Timeouts, CallerThatGivesUpEndsTheRequestAtOnce) {
  // The service allows 1000 ms; the caller (a client that hangs up) gives up
  // after 10 ms and cancels the request. The read must stop then, not at the
  // request's own deadline.
  ch05::NoteService notes(db, 1000ms);
  db.hang_next(1, OpKind::read);
  const auto seen = call_and_give_up(
      "get_note(7) with a timeout of 1000 ms, cancelled by its caller after 10 ms (a read "
      "that hangs)",
      notes.get_note(7), 10ms);
  if (!expect_completed(seen, 10ms)) return;
  const Thrown t = inspect(seen.thrown);
  if (seen.took > 10ms) {
    ADD_FAILURE() << format(
                         "the caller's cancellation was ignored: %s ended only after %.0f ms, "
                         "with \"%s\"; expected it to end at once, at 10 ms, with "
                         "operation_aborted",
                         seen.what.c_str(), ms(seen.took), t.message.c_str())
                  << ".\nThe operation did not hear its caller: it runs under a "
                     "cancellation_signal of your own (co_spawn with "
                     "bind_cancellation_slot(signal.slot(), ...)), which takes the place of "
                     "the caller's cancellation slot, so only your timer can stop it. Forward "
                     "the caller's cancellation into your signal (a handler on the slot of "
                     "co_await this_coro::cancellation_state), or race with operator|| or a "
                     "parallel group, which pass it on to both sides.";
    expect_nothing_left_behind(seen);
    return;
  }
  if (seen.left_in_flight != 0 || seen.open_connections != 0) {
    ADD_FAILURE() << format(
                         "%s ended at %.0f ms, with \"%s\", while %zu database operation(s) were "
                         "still in flight, holding %zu connection(s); expected the caller's "
                         "cancellation to cancel the read and wait for it to end",
                         seen.what.c_str(), ms(seen.took), t.message.c_str(), seen.left_in_flight,
                         seen.open_connections)
                  << ".\nThe caller's cancellation stopped the request's own wait (a sleep, a "
                     "timer) but not the operation, which runs on under a cancellation_signal "
                     "of your own. Forward the caller's cancellation to the operation and wait "
                     "for it to end, or race with operator||, which does both.";
    return;
  }
  if (t.code == mockdb::ErrorClass::timed_out) {
    ADD_FAILURE() << format(
                         "%s was reported as a timeout: it threw \"%s\" at %.0f ms, long before "
                         "its limit of 1000 ms; expected operation_aborted, the caller's own "
                         "cancellation",
                         seen.what.c_str(), t.message.c_str(), ms(seen.took))
                  << ".\nOnly the deadline passing is a timeout. When the race ends because "
                     "the caller cancelled it, the timer's wait ends too, with "
                     "operation_aborted: look at how it ended (its error_code), not only at "
                     "which side ended first.";
    return;
  }
  EXPECT_EQ(t.code, boost::system::error_code(asio::error::operation_aborted))
      << seen.what << " threw \"" << t.message << "\"; expected operation_aborted, the "
      << "caller's own cancellation, unchanged";
  EXPECT_EQ(cancelled(OpKind::read), 1u)
      << "the read must be cancelled by the caller's cancellation; the database counted "
      << cancelled(OpKind::read) << " cancelled read(s)";
}

TEST_F(Timeouts, NestedTimeoutsEndAtTheShorterOne) {
  // A request of 50 ms around a read of its own with 1000 ms: the outer
  // deadline cancels the inner request, and that must reach the read.
  db.hang_next(1, OpKind::read);
  auto inner = ch05::with_timeout(db.read(ch05::kNotesTable, 7), 1000ms, "the inner read");
  auto outer = ch05::with_timeout(std::move(inner), 50ms, "the outer request");
  const auto seen =
      call("with_timeout(with_timeout(read of a note, 1000 ms), 50 ms) of a read that hangs",
           std::move(outer));
  if (!expect_completed(seen, 50ms)) return;
  if (seen.took > 50ms) {
    ADD_FAILURE() << format(
                         "the outer deadline did not reach the inner request: %s ended only "
                         "after %.0f ms, with \"%s\"; expected Errc::timed_out at 50 ms, the "
                         "outer (shorter) deadline",
                         seen.what.c_str(), ms(seen.took), inspect(seen.thrown).message.c_str())
                  << ".\nThe outer with_timeout cancelled the inner one at 50 ms, and the inner "
                     "one did not pass that on to its read: the read runs under a "
                     "cancellation_signal of its own (co_spawn with "
                     "bind_cancellation_slot(signal.slot(), ...)), which only its own timer "
                     "emits into. Forward the caller's cancellation into that signal (a "
                     "handler on the slot of co_await this_coro::cancellation_state), or race "
                     "with operator|| or a parallel group, which pass it on.";
    expect_nothing_left_behind(seen);
    return;
  }
  expect_timed_out(seen, 50ms, "the outer with_timeout's argument");
  if (seen.thrown && inspect(seen.thrown).code == mockdb::ErrorClass::timed_out) {
    EXPECT_NE(inspect(seen.thrown).message.find("the outer request"), std::string::npos)
        << "the timeout is the outer request's (50 ms), and its message should say so; it says \""
        << inspect(seen.thrown).message << "\"";
  }
}

TEST_F(Timeouts, MissingNoteIsNotATimeout) {
  ch05::NoteService notes(db, 50ms);
  const auto seen = call("get_note(99) (no such note) with a timeout of 50 ms", notes.get_note(99));
  if (!expect_completed(seen, 50ms)) return;
  if (seen.thrown) {
    ADD_FAILURE() << seen.what << " threw \"" << inspect(seen.thrown).message
                  << "\"; expected std::nullopt after 10 ms: a missing note is an answer, "
                     "not a failure";
    return;
  }
  EXPECT_FALSE(seen.value && *seen.value) << "note 99 does not exist, yet a note came back";
  EXPECT_EQ(seen.took, kLatency) << format("expected the answer after 10 ms; it took %.0f ms",
                                           ms(seen.took));
}

TEST_F(Timeouts, DatabaseErrorIsNotATimeout) {
  ch05::NoteService notes(db, 50ms);
  db.fail_next(1, mockdb::Errc::connection_reset, OpKind::read);
  const auto seen = call(
      "get_note(7) with a timeout of 50 ms (the read fails with "
      "connection_reset after 10 ms)",
      notes.get_note(7));
  if (!expect_completed(seen, 50ms)) return;
  if (!seen.thrown) {
    ADD_FAILURE() << seen.what << " returned a result after " << ms(seen.took)
                  << " ms; expected the read's own error, connection_reset, after 10 ms: a "
                     "failed read must reach the caller";
    return;
  }
  const Thrown t = inspect(seen.thrown);
  if (t.code == mockdb::ErrorClass::timed_out) {
    ADD_FAILURE() << format(
                         "a real database error was reported as a timeout: the read failed with "
                         "connection_reset after 10 ms, and %s threw Errc::timed_out after "
                         "%.0f ms; expected connection_reset itself, after 10 ms",
                         seen.what.c_str(), ms(seen.took))
                  << ".\nA timeout must only report the deadline passing. operator|| resumes on "
                     "the first *success*: an operation that throws loses to the timer, and "
                     "its error is lost. Catch the operation's exception inside the race and "
                     "rethrow it after (or use make_parallel_group with wait_for_one()). And a "
                     "catch (...) that turns every failure into a timeout hides the real "
                     "cause.";
    return;
  }
  EXPECT_EQ(t.code, mockdb::Errc::connection_reset)
      << seen.what << " threw \"" << t.message << "\"; expected the read's own error, "
      << "connection_reset, unchanged";
  EXPECT_TRUE(t.is_database_error) << "the read's mockdb::DatabaseError must reach the caller "
                                      "as it was thrown";
  EXPECT_EQ(seen.took, kLatency) << format(
      "expected the error when the read failed, after 10 ms; it came after %.0f ms", ms(seen.took));
  expect_nothing_left_behind(seen);
}

// ---- Nothing left behind ----

TEST_F(Timeouts, TimedOutReadsReleaseTheirConnections) {
  // Three requests time out one after another on a database of two
  // connections; a leaked read keeps its connection for good, and the
  // fourth request would find none free.
  db.set_max_connections(2);
  ch05::NoteService notes(db, 40ms);
  db.hang_next(3, OpKind::read);
  for (const Id id : {1, 2, 3}) {
    const auto seen =
        call(format("get_note(%lld) with a timeout of 40 ms", static_cast<long long>(id)),
             notes.get_note(id));
    if (!expect_completed(seen, 40ms)) return;
    if (!expect_nothing_left_behind(seen)) return;
  }
  const auto after = call(
      "get_note(4) after three timed-out reads, on a database of 2 "
      "connections",
      notes.get_note(4));
  if (!expect_completed(after, 40ms)) return;
  EXPECT_FALSE(after.thrown) << after.what << " threw \"" << inspect(after.thrown).message
                             << "\"; expected note 4: the timed-out reads must have released "
                                "their connections";
  const mockdb::OpStats reads = db.stats()[OpKind::read];
  EXPECT_EQ(reads.cancelled, 3u) << "expected the database to count the 3 abandoned reads as "
                                    "cancelled; it counted "
                                 << reads.cancelled;
  EXPECT_EQ(reads.in_flight, 0u) << "reads still in flight after every request ended";
}

// ---- One deadline for the whole request ----

TEST_F(Timeouts, OneDeadlineForTheWholePage) {
  // The read and the query take 30 ms each: 60 ms in all, against 50 ms.
  ch05::NoteService notes(db, 50ms);
  db.set_latency(mockdb::Latency::fixed(30ms));
  const auto seen = call(
      "load_page(1) with a timeout of 50 ms (a read of 30 ms, then a query "
      "of 30 ms)",
      notes.load_page(1));
  if (seen.completed() && !seen.thrown && seen.took > 50ms) {
    ADD_FAILURE() << format(
                         "%s returned the page after %.0f ms; expected Errc::timed_out at 50 ms: "
                         "each step had a deadline of its own, so the request took longer than "
                         "its timeout",
                         seen.what.c_str(), ms(seen.took))
                  << ".\nThe timeout bounds the request, whatever it does inside: put the whole "
                     "request (fetch_page) under one deadline, or give each step only what is "
                     "left of it.";
    return;
  }
  expect_timed_out(seen, 50ms, "the service's default");
  EXPECT_EQ(cancelled(OpKind::query), 1u) << "the query running at the deadline must be cancelled";
}

TEST_F(Timeouts, PageInTimeIsComplete) {
  ch05::NoteService notes(db, 50ms);
  const auto seen =
      call("load_page(2) with a timeout of 50 ms (10 ms + 10 ms)", notes.load_page(2));
  if (!expect_completed(seen, 50ms)) return;
  ASSERT_FALSE(seen.thrown) << seen.what << " threw \"" << inspect(seen.thrown).message
                            << "\"; expected the page after 20 ms";
  ASSERT_TRUE(seen.value && *seen.value) << "note 2 exists, yet no page came back";
  EXPECT_EQ((**seen.value).note.at("title").as_string(), "note 2");
  EXPECT_EQ((**seen.value).comments.size(), 2u) << "note 2 has two comments";
  EXPECT_EQ(seen.took, 2 * kLatency) << format("expected 20 ms; it took %.0f ms", ms(seen.took));
}

// ---- with_timeout() is generic ----

TEST_F(Timeouts, WithTimeoutWorksForAnyResultType) {
  // Rows from a query, in time.
  const auto rows = call("with_timeout(db.query(...), 50 ms)",
                         ch05::with_timeout(db.query("SELECT * FROM notes"), 50ms, "listing"));
  ASSERT_TRUE(rows.completed() && !rows.thrown) << rows.what << " did not return the rows";
  EXPECT_EQ(rows.value->size(), static_cast<std::size_t>(kNotes));

  // A move-only result: a connection, opened in time.
  db.set_latency(OpKind::connect, mockdb::Latency::fixed(5ms));
  auto connection = call("with_timeout(db.connect(), 50 ms)",
                         ch05::with_timeout(db.connect(), 50ms, "connecting"));
  ASSERT_TRUE(connection.completed() && !connection.thrown)
      << connection.what << " did not return the connection";
  EXPECT_TRUE(*connection.value) << "with_timeout() returned an empty connection";
  connection.value->reset();  // closes it

  // An id from a write that hangs: timed out, and the write cancelled.
  db.hang_next(1, OpKind::create);
  mockdb::Row draft;
  draft["title"] = "draft";
  const auto id = call("with_timeout(db.create(...), 25 ms) of a write that hangs",
                       ch05::with_timeout(db.create("notes", draft), 25ms, "saving a draft"));
  expect_timed_out(id, 25ms, "with_timeout's argument");
  if (id.thrown) {
    const Thrown t = inspect(id.thrown);
    EXPECT_NE(t.message.find("saving a draft"), std::string::npos)
        << "the message should say what timed out (with_timeout's `what`, \"saving a draft\"); "
           "it says \""
        << t.message << "\"";
  }
  EXPECT_EQ(db.stats()[OpKind::create].cancelled, 1u) << "the hung write must be cancelled";
}

TEST_F(Timeouts, WithTimeoutOfNothingToReturn) {
  // An awaitable<void> that would wait 1 s: a sleep on the workbook clock.
  const auto seen = call("with_timeout(sleep_for(1 s), 20 ms)", sleep_with_timeout(1s, 20ms));
  expect_timed_out(seen, 20ms, "with_timeout's argument");
}

}  // namespace
