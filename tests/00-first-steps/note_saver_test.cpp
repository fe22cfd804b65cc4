// Chapter 00's test of save_notes(), built against the pitfall and the fix.
//
// It judges save_notes() by what its caller relies on: when it returns, every
// note is in the database, under the id it returned, in the notes' order; a
// second call on the same io_context works as well as the first; a failed
// write is thrown, after the others have finished. When notes are missing it
// says what happened to them, from what the database saw (how many writes
// began and ended during the call) and from the io_context (was it stopped,
// did it still hold work nobody ran).
//
// save_notes() runs its loop with io_context::run(), which virtual time
// cannot drive (docs/harness.md), so this suite runs in real time with short
// latencies, and asserts only on counts and contents, never on durations. A
// call that blocks for good is ended by a watchdog with a deadlock report.
#include "note_saver.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "workbook/watchdog.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Real time, generous: every call here needs well under half a second.
constexpr auto kBudget = 3000ms;

std::vector<ch00::Note> make_notes(int n, const std::string& prefix = "note") {
  std::vector<ch00::Note> notes;
  for (int i = 1; i <= n; ++i) {
    notes.push_back({prefix + " " + std::to_string(i), "text " + std::to_string(i)});
  }
  return notes;
}

std::string plural(std::uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// What one call of save_notes() did, as seen from outside.
struct Call {
  std::size_t asked = 0;        // notes given to it
  std::vector<mockdb::Id> ids;  // what it returned
  std::uint64_t began = 0;      // create operations begun during the call
  std::uint64_t ended = 0;      // create operations ended (any way) during the call
  std::size_t written = 0;      // new notes in the database when it returned
  bool stopped_before = false;  // ctx.stopped() when it was called
  bool stopped_after = false;   // ctx.stopped() when it returned
};

class NoteSaver : public testing::Test {
 protected:
  // Calls save_notes() under a watchdog and records what it did.
  Call save(const std::vector<ch00::Note>& notes) {
    Call call;
    call.asked = notes.size();
    const mockdb::OpStats before = db.stats()[mockdb::OpKind::create];
    const std::size_t held = db.count(ch00::kNotesTable);
    call.stopped_before = ctx.stopped();
    {
      workbook::Watchdog watchdog{kBudget, "save_notes(" + plural(notes.size(), "note", "notes") +
                                               ") on the test's thread"};
      call.ids = ch00::save_notes(ctx, db, notes);
    }
    const mockdb::OpStats after = db.stats()[mockdb::OpKind::create];
    call.began = after.started - before.started;
    call.ended = (after.succeeded + after.failed + after.cancelled) -
                 (before.succeeded + before.failed + before.cancelled);
    call.written = db.count(ch00::kNotesTable) - held;
    call.stopped_after = ctx.stopped();
    return call;
  }

  // Empty if every note was written; otherwise what happened, and what to do.
  // May run one handler left on ctx (never a write's completion: none began)
  // to learn whether work was queued there.
  std::string missing_notes(const Call& call) {
    if (call.written == call.asked) return {};
    std::ostringstream out;
    if (call.began == 0) {
      out << "nothing ran: save_notes returned, but none of the " << call.asked
          << " writes ever started (the database saw 0 create operations, and holds 0 of the "
          << call.asked << " notes). ";
      // Was anything queued on the loop? Run at most one handler to find out:
      // with no write begun, it can only be the start of a spawned coroutine.
      ctx.restart();
      const bool queued = ctx.poll_one() > 0;
      if (queued && call.stopped_before) {
        out << "The io_context was already stopped when save_notes was called (an earlier "
               "run() had run out of work, and that stops it), and run() on a stopped "
               "io_context returns at once, running nothing: the writes stayed queued. Call "
               "ctx.restart() before ctx.run().";
      } else if (queued && call.stopped_after) {
        out << "The writes were queued on the io_context after its run() had returned: run() "
               "runs the loop only while it has work, and returns as soon as it has none, so "
               "called before co_spawn it returns at once. Hand the writes to the loop first "
               "(co_spawn), then call ctx.run().";
      } else if (queued) {
        out << "The writes were queued on the io_context, but its loop never ran: nothing "
               "called ctx.run() on it (running another io_context does not run this one, and "
               "sleeping runs nothing). Outside the loop, co_spawn only queues a coroutine's "
               "start; call ctx.run() after it.";
      } else {
        out << "Nothing was queued on the io_context: the writes were never handed to the "
               "loop"
            << (call.stopped_after ? ", so its run() found no work and returned at once"
                                   : ", and its loop never ran")
            << ". An awaitable runs only when it is co_awaited or co_spawned; co_spawn with "
               "use_awaitable or deferred only returns an operation, which starts when it is "
               "awaited (or invoked). Use co_spawn with a completion handler, then ctx.run().";
      }
      return out.str();
    }
    out << "the writes started but save_notes returned before they were done: during the call "
        << "the database saw " << call.began << " of " << call.asked << " writes begin and "
        << call.ended << " end, and when it returned it held " << call.written << " of the "
        << call.asked << " notes. The loop was left while it still had work: poll() and "
        << "run_one() return after what is ready now, run_for() after a fixed time (a slower "
        << "database needs longer); run() returns only when every write and its handler are done.";
    return out.str();
  }

  // Empty if ids[i] is the row of notes[i] for every i, all distinct.
  std::string wrong_ids(const Call& call, const std::vector<ch00::Note>& notes) {
    if (call.ids.size() != notes.size()) {
      return "save_notes returned " + plural(call.ids.size(), "id", "ids") + " for " +
             plural(notes.size(), "note", "notes") + "; expected one id per note.";
    }
    std::set<mockdb::Id> seen;
    for (std::size_t i = 0; i < notes.size(); ++i) {
      const mockdb::Id id = call.ids[i];
      std::ostringstream out;
      out << "save_notes returned id " << id << " for note " << i + 1 << " (\"" << notes[i].title
          << "\")";
      const auto row = db.peek(ch00::kNotesTable, id);
      if (!row) {
        out << ", but the database has no note with that id: the id the write produced never "
               "reached the caller. A detached coroutine's result is thrown away; a completion "
               "handler receives it (error, id): store the id there.";
        return out.str();
      }
      const std::string title(row->at("title").as_string());
      if (title != notes[i].title) {
        out << ", but that row is \"" << title
            << "\": the ids are not in the order of the notes (stored in the order the writes "
               "completed?). Store each id at its note's index.";
        return out.str();
      }
      if (!seen.insert(id).second) {
        out << ", which it returned for another note too.";
        return out.str();
      }
    }
    return {};
  }

  // Declared before ctx: the coroutines left on ctx use it while ctx destroys them.
  mockdb::MockDatabase db{mockdb::MockConfig{.operation_latency = mockdb::Latency::fixed(5ms)}};
  asio::io_context ctx;
};

TEST_F(NoteSaver, EveryNoteIsInTheDatabaseWhenSaveNotesReturns) {
  const auto notes = make_notes(3);
  const Call call = save(notes);
  const std::string missing = missing_notes(call);
  ASSERT_TRUE(missing.empty()) << missing;
  const std::string wrong = wrong_ids(call, notes);
  EXPECT_TRUE(wrong.empty()) << wrong;
}

TEST_F(NoteSaver, IdsComeInTheOrderOfTheNotes) {
  // Latencies from 1 to 40 ms (seeded): the writes complete in another order.
  db.set_latency(mockdb::Latency::uniform(1ms, 40ms));
  const auto notes = make_notes(6);
  const Call call = save(notes);
  const std::string missing = missing_notes(call);
  ASSERT_TRUE(missing.empty()) << missing;
  const std::string wrong = wrong_ids(call, notes);
  EXPECT_TRUE(wrong.empty()) << wrong;
}

TEST_F(NoteSaver, ASecondCallOnTheSameLoopSavesToo) {
  const auto first_notes = make_notes(2, "first");
  const Call first = save(first_notes);
  const std::string first_missing = missing_notes(first);
  ASSERT_TRUE(first_missing.empty()) << "the first call: " << first_missing;

  const auto second_notes = make_notes(2, "second");
  const Call second = save(second_notes);
  const std::string missing = missing_notes(second);
  ASSERT_TRUE(missing.empty()) << "the second call, on the same io_context: " << missing;
  const std::string wrong = wrong_ids(second, second_notes);
  EXPECT_TRUE(wrong.empty()) << "the second call: " << wrong;
}

TEST_F(NoteSaver, ASlowDatabaseStillGetsEveryNote) {
  // Slower than any "long enough" a program might wait for a loop.
  db.set_latency(mockdb::Latency::fixed(400ms));
  const auto notes = make_notes(2);
  const Call call = save(notes);
  const std::string missing = missing_notes(call);
  ASSERT_TRUE(missing.empty()) << "with 400 ms per write: " << missing;
}

TEST_F(NoteSaver, AFailedWriteIsThrownOnceTheOthersAreDone) {
  db.fail_next(1, mockdb::Errc::connection_reset, mockdb::OpKind::create);
  const auto notes = make_notes(3);
  try {
    const Call call = save(notes);
    if (call.began == 0) {
      ADD_FAILURE() << "a write was meant to fail, but " << missing_notes(call);
      return;
    }
    ADD_FAILURE() << "a write failed (the database reset the connection of the first create), "
                     "but save_notes returned normally ("
                  << call.written << " of " << call.asked
                  << " notes written): the error was swallowed. A completion handler receives "
                     "the coroutine's exception as its first argument (std::exception_ptr): "
                     "keep it, and rethrow it once run() has returned.";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), mockdb::Errc::connection_reset)
        << "save_notes threw another error than the failed write's: " << e.what();
    const std::size_t written = db.count(ch00::kNotesTable);
    EXPECT_EQ(written, notes.size() - 1)
        << "save_notes threw the failed write's error before the other writes were done: the "
           "database holds "
        << written << " of the " << notes.size() - 1
        << " other notes. An exception thrown from a handler leaves run() at once, abandoning "
           "the rest of the loop's work (and leaving handlers that refer to save_notes's local "
           "variables, which are gone). Keep the failure, let run() finish, then rethrow it.";
  }
}

TEST_F(NoteSaver, NoNotesIsNothingToDo) {
  const Call call = save({});
  EXPECT_TRUE(call.ids.empty()) << "save_notes returned ids for no notes.";
  EXPECT_EQ(call.began, 0u) << "save_notes wrote something when given no notes.";
}

}  // namespace
