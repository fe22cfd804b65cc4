// Chapter 04's test, built against the pitfall and against the fix.
//
// It judges the handlers by what a caller relies on: when save_note() or
// save_notes() reports a note saved, the note is in the database under the id
// reported; when a write fails, the caller hears of it, and in a batch the
// other drafts' ids still reach it. It looks at what the database holds
// (MockDatabase::count and peek, which read it at once, without latency) and
// at its counters and trace, in virtual time: whether the writes overlapped,
// whether any was still running when the handler returned, and whether the
// handler waited for its writes or for something else. The pitfall reports
// success and leaves the database empty. tests/04-missed-co-await/wrong-fixes/
// holds the plausible wrong fixes this test must reject.
#include "note_service.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/system/system_error.hpp>
#include <exception>
#include <iomanip>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "workbook/clock.hpp"
#include "workbook/run.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// A text field of a stored note.
std::string field(const mockdb::Row& note, const char* name) {
  return std::string(note.at(name).as_string());
}

// A duration as a learner reads it: "12.3 ms".
std::string ms(workbook::Clock::duration d) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << workbook::to_ms(d) << " ms";
  return out.str();
}

std::vector<ch04::Draft> drafts_titled(const std::string& prefix, int count) {
  std::vector<ch04::Draft> drafts;
  for (int i = 1; i <= count; ++i) {
    drafts.push_back({prefix + " " + std::to_string(i), "text " + std::to_string(i)});
  }
  return drafts;
}

// What one call of save_notes() did, as its caller and the database saw it.
struct Batch {
  std::vector<ch04::SaveResult> results;
  std::size_t held = 0;           // new notes in the database when save_notes returned
  std::size_t still_running = 0;  // writes in flight when save_notes returned
  std::size_t most_in_flight = 0;
  std::size_t writes_failed = 0;
  workbook::Clock::duration took{};         // from the call to its return
  workbook::Clock::duration writes_took{};  // from the call to the end of its last write
};

// An error made to happen in one write, and the class a caller compares it with.
struct Injected {
  const char* name;
  mockdb::ErrorClass error_class;
};

class MissedCoAwait : public testing::Test {
 protected:
  // Work left on the loop (a detached write) runs before the database goes.
  void TearDown() override { workbook::run_until_idle(ctx); }

  // Runs save_notes(drafts) and records what it did. Database errors thrown
  // out of it propagate (the tests that inject one catch them).
  Batch save(const std::vector<ch04::Draft>& drafts) {
    db.reset_stats();
    db.trace().clear();
    const std::size_t before = db.count(ch04::kNotesTable);
    const auto start = workbook::Clock::now();
    Batch batch;
    batch.results = workbook::run_to_completion(ctx, ch04::save_notes(db, drafts), "save_notes");
    // Checked at once: the caller may read a note back as soon as it is told "saved".
    batch.took = workbook::Clock::now() - start;
    batch.held = db.count(ch04::kNotesTable) - before;
    const mockdb::OpStats creates = db.stats()[mockdb::OpKind::create];
    batch.still_running = creates.in_flight;
    batch.most_in_flight = creates.max_in_flight;
    batch.writes_failed = creates.failed;
    for (const workbook::Span& span : db.trace().spans()) {
      if (span.operation == "create" && span.end) {
        batch.writes_took = std::max(batch.writes_took, *span.end - start);
      }
    }
    return batch;
  }

  // Fails the test with the first way in which `batch` misreports `drafts`,
  // or shows that the writes did not overlap or were not what save_notes
  // waited for. `injected` is the error injected into one write, if any.
  void expect_honest_report(const Batch& batch, const std::vector<ch04::Draft>& drafts,
                            std::optional<Injected> injected = std::nullopt) {
    const char* failure = injected ? injected->name : nullptr;
    const std::size_t n = drafts.size();
    if (batch.results.size() != n) {
      ADD_FAILURE() << "save_notes was given " << n << " drafts and reported "
                    << batch.results.size() << " results; expected one result per draft, in "
                    << "the drafts' order.";
      return;
    }
    if (batch.held > n) {
      ADD_FAILURE() << "save_notes was given " << n << " drafts, but the database holds "
                    << batch.held << " new notes: some drafts were written more than once. "
                    << "Start each draft's write exactly once.";
      return;
    }
    if (batch.still_running > 0) {
      ADD_FAILURE() << "save_notes returned while " << batch.still_running << " of its " << n
                    << " writes were still running: a caller told about them cannot read those "
                    << "notes back yet, and their errors reach nobody. Join every write it "
                    << "starts (await them) before it returns.";
      return;
    }
    std::size_t reported = 0;
    for (const auto& r : batch.results) reported += r.saved ? 1 : 0;
    if (reported > batch.held) {
      if (failure != nullptr && batch.writes_failed > 0 && reported == n) {
        ADD_FAILURE() << "save_notes reported all " << n << " drafts saved, but one write failed ("
                      << failure << ") and the database holds " << batch.held << " new notes: "
                      << "the failure was swallowed. Report it in that draft's result, with the "
                      << "error, and the other drafts' ids in theirs.";
      } else {
        ADD_FAILURE() << "save_notes reported " << reported << " of " << n
                      << " notes saved, but when it returned the database held " << batch.held
                      << " new notes, so at least one note was never written before success "
                      << "was reported. Was every write it started joined (awaited) before it "
                      << "returned?";
      }
      return;
    }
    if (batch.held > reported) {
      ADD_FAILURE() << "when save_notes returned the database held " << batch.held
                    << " new notes, but it reported only " << reported << " of " << n
                    << " drafts saved: a write that succeeded was not reported as saved. Did "
                    << "save_notes return before that write's result reached it?";
      return;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const ch04::SaveResult& r = batch.results[i];
      if (!r.saved && !r.error) {
        ADD_FAILURE() << "draft " << i + 1 << " (\"" << drafts[i].title
                      << "\") was reported not saved, without an error: a caller cannot tell "
                      << "why, or whether to try again. Put the error its write failed with in "
                      << "its result.";
        return;
      }
    }
    if (n - reported != batch.writes_failed) {
      ADD_FAILURE() << "save_notes reported " << n - reported << " of " << n
                    << " drafts not saved, but " << batch.writes_failed << " of its writes "
                    << "failed; expected exactly the drafts whose writes failed.";
      return;
    }
    std::set<mockdb::Id> ids;
    for (std::size_t i = 0; i < n; ++i) {
      const ch04::SaveResult& r = batch.results[i];
      if (!r.saved) {
        if (!injected || r.error != injected->error_class) {
          ADD_FAILURE() << "draft " << i + 1 << " was reported failed with \"" << r.error.message()
                        << "\"; expected the error its write failed with ("
                        << (failure != nullptr ? failure : "none was injected") << ").";
          return;
        }
        continue;
      }
      const auto note = db.peek(ch04::kNotesTable, r.id);
      if (!note) {
        ADD_FAILURE() << "draft " << i + 1 << " (\"" << drafts[i].title
                      << "\") was reported saved with id " << r.id
                      << ", but the database has no note with that id. Report the id that "
                      << "db.create() returned for that draft.";
        return;
      }
      if (field(*note, "title") != drafts[i].title) {
        ADD_FAILURE() << "draft " << i + 1 << " (\"" << drafts[i].title
                      << "\") was reported with id " << r.id << ", which is the note \""
                      << field(*note, "title") << "\": each result must be in its draft's place. "
                      << "(A parallel group's results are in the order of its operations; its "
                      << "first vector is only the order in which they completed.)";
        return;
      }
      if (r.error) {
        ADD_FAILURE() << "draft " << i + 1 << " was reported saved, and also failed with \""
                      << r.error.message() << "\": a result is one or the other.";
        return;
      }
      if (!ids.insert(r.id).second) {
        ADD_FAILURE() << "two drafts were reported with the same id, " << r.id << ".";
        return;
      }
    }
    if (batch.most_in_flight < n) {
      ADD_FAILURE() << "save_notes did not overlap its writes: " << n << " writes took "
                    << ms(batch.took) << " with at most " << batch.most_in_flight
                    << " in flight; expected all " << n << " in flight at once, taking as long as "
                    << "the slowest write. Start every write before waiting for any: a co_await "
                    << "in the loop, or co_spawn(..., use_awaitable) awaited one by one, runs "
                    << "them in turn.";
      return;
    }
    if (batch.took > batch.writes_took + 1ms) {
      ADD_FAILURE() << "save_notes returned " << ms(batch.took)
                    << " after it was called, but its last write had completed at "
                    << ms(batch.writes_took) << ": it waited " << ms(batch.took - batch.writes_took)
                    << " for something other than its writes (a sleep that \"waits long "
                    << "enough\"?). Such a wait is too long for a fast database and too short for "
                    << "a slow one: await the writes themselves.";
      return;
    }
  }

  workbook::VirtualTime time;
  mockdb::MockDatabase db{mockdb::MockConfig{.operation_latency = mockdb::Latency::fixed(5ms)}};
  asio::io_context ctx;
};

TEST_F(MissedCoAwait, SavedNoteIsInTheDatabase) {
  const ch04::SaveResult result = workbook::run_to_completion(
      ctx, ch04::save_note(db, "Shopping list", "milk, eggs"), "save_note");
  // Even once everything left on the event loop has run, the note must be there.
  workbook::run_until_idle(ctx);

  ASSERT_TRUE(result.saved) << "save_note reported that it did not save the note.";
  ASSERT_EQ(db.count(ch04::kNotesTable), 1u)
      << "save_note reported success (id " << result.id
      << ") but the note was never written: the database holds " << db.count(ch04::kNotesTable)
      << " notes; expected 1. Was the awaitable for db.create() ever co_awaited?";
  const auto note = db.peek(ch04::kNotesTable, result.id);
  ASSERT_TRUE(note) << "save_note reported id " << result.id
                    << ", but the database has no note with that id.";
  EXPECT_EQ(field(*note, "title"), "Shopping list");
  EXPECT_EQ(field(*note, "body"), "milk, eggs");
}

TEST_F(MissedCoAwait, FailedWriteIsReportedNotSwallowed) {
  db.fail_next(1, mockdb::Errc::connection_reset, mockdb::OpKind::create);
  EXPECT_THROW(workbook::run_to_completion(ctx, ch04::save_note(db, "t", "b"), "save_note"),
               boost::system::system_error)
      << "the write failed, but save_note did not report the error to its caller.";
}

// Four writes of 5 ms each: joined concurrently, the batch takes 5 ms.
TEST_F(MissedCoAwait, SavedBatchIsInTheDatabaseWhenSaveReturns) {
  const auto drafts = drafts_titled("note", 4);
  const Batch batch = save(drafts);
  expect_honest_report(batch, drafts);
}

// Another size and another latency, each write taking its own time between 2
// and 20 ms: a handler that fits the first test's figures (a sleep of 5 ms,
// results in completion order) fails here.
TEST_F(MissedCoAwait, SavedBatchWaitsForEveryWriteHoweverLong) {
  db.set_latency(mockdb::OpKind::create, mockdb::Latency::uniform(2ms, 20ms));
  const auto drafts = drafts_titled("draft", 7);
  const Batch batch = save(drafts);
  expect_honest_report(batch, drafts);
}

// One write of five fails while the others go on. The caller must
// learn which draft failed and why, and get the other four ids: they are in
// the database, and a caller who lost them could neither read those notes
// back nor retry the batch without writing them twice.
TEST_F(MissedCoAwait, BatchReportsAFailedWriteInItsDraftsResult) {
  db.set_latency(mockdb::OpKind::create, mockdb::Latency::uniform(2ms, 20ms));
  // A permanent error (a policy of the server refusing that row, say): no
  // retry could save this draft, so the caller must be told.
  db.fail_next(1, mockdb::Errc::permission_denied, mockdb::OpKind::create);
  const auto drafts = drafts_titled("batch", 5);
  const std::size_t before = db.count(ch04::kNotesTable);
  std::optional<Batch> batch;
  try {
    batch = save(drafts);
  } catch (const boost::system::system_error& thrown) {
    workbook::run_until_idle(ctx);
    FAIL() << "save_notes threw \"" << thrown.what() << "\" when 1 of its " << drafts.size()
           << " writes failed, but the other writes went on: the database holds "
           << db.count(ch04::kNotesTable) - before << " new notes whose ids the caller never "
           << "learned, and retrying the batch would write them twice. Report the failure in "
           << "that draft's result, and the others' ids in theirs.";
  }
  expect_honest_report(*batch, drafts,
                       Injected{"permission denied", mockdb::ErrorClass::insufficient_privilege});
}

TEST_F(MissedCoAwait, EmptyBatchCompletesWithNoResults) {
  std::vector<ch04::SaveResult> results;
  try {
    results = workbook::run_to_completion(ctx, ch04::save_notes(db, {}), "save_notes({})");
  } catch (const workbook::NeverCompleted& stuck) {
    FAIL() << "save_notes({}) never completed: an empty batch must complete at once with no "
           << "results. (A parallel group of no operations never completes in Boost 1.81: "
           << "return early when there are no drafts.) The run said: " << stuck.what();
  }
  EXPECT_TRUE(results.empty()) << "save_notes({}) reported " << results.size()
                               << " results for no drafts.";
  EXPECT_EQ(db.count(ch04::kNotesTable), 0u) << "save_notes({}) wrote notes of no draft.";
}

}  // namespace
