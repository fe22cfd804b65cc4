// Chapter 04's test, built against the pitfall and against the fix.
//
// It judges the handlers by what a caller relies on: when save_note() or
// save_notes() reports success, the notes are in the database. It does not
// look at how the handlers are written, only at what the database holds
// (MockDatabase::count and peek, which read it at once, without latency).
// The pitfall reports success and leaves the database empty.
#include "note_service.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <set>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "workbook/run.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// A text field of a stored note.
std::string field(const mockdb::Row& note, const char* name) {
  return std::string(note.at(name).as_string());
}

class MissedCoAwait : public testing::Test {
 protected:
  // Work left on the loop (a detached write) runs before the database goes.
  void TearDown() override { workbook::run_until_idle(ctx); }

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

TEST_F(MissedCoAwait, SavedBatchIsInTheDatabaseWhenSaveReturns) {
  std::vector<ch04::Draft> drafts;
  for (int i = 1; i <= 4; ++i) {
    drafts.push_back({"note " + std::to_string(i), "text " + std::to_string(i)});
  }
  const std::vector<ch04::SaveResult> results =
      workbook::run_to_completion(ctx, ch04::save_notes(db, drafts), "save_notes");
  // Checked at once: the caller may read a note back as soon as it is told "saved".
  const std::size_t held = db.count(ch04::kNotesTable);

  ASSERT_EQ(results.size(), drafts.size()) << "save_notes must report one result per draft.";
  std::size_t reported = 0;
  for (const auto& r : results) reported += r.saved ? 1 : 0;
  ASSERT_EQ(reported, drafts.size())
      << "save_notes reported only " << reported << " of " << drafts.size() << " notes saved.";
  ASSERT_EQ(held, drafts.size())
      << "save_notes reported " << reported << " of " << drafts.size()
      << " notes saved, but when it returned the database held " << held << " notes; expected "
      << drafts.size() << ", so at least one note was never written before success was reported. "
      << "Was every write it started joined (awaited) before it returned?";

  std::set<mockdb::Id> ids;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto note = db.peek(ch04::kNotesTable, results[i].id);
    ASSERT_TRUE(note) << "draft " << i + 1 << " was reported saved with id " << results[i].id
                      << ", but the database has no note with that id.";
    EXPECT_EQ(field(*note, "title"), drafts[i].title) << "result " << i + 1 << " has another's id";
    ids.insert(results[i].id);
  }
  EXPECT_EQ(ids.size(), drafts.size()) << "two drafts were reported with the same id.";
}

TEST_F(MissedCoAwait, EmptyBatchCompletesWithNoResults) {
  const auto results = workbook::run_to_completion(ctx, ch04::save_notes(db, {}), "save_notes({})");
  EXPECT_TRUE(results.empty());
  EXPECT_EQ(db.count(ch04::kNotesTable), 0u);
}

TEST_F(MissedCoAwait, FailedWriteIsReportedNotSwallowed) {
  db.fail_next(1, mockdb::Errc::connection_reset, mockdb::OpKind::create);
  EXPECT_THROW(workbook::run_to_completion(ctx, ch04::save_note(db, "t", "b"), "save_note"),
               boost::system::system_error)
      << "the write failed, but save_note did not report the error to its caller.";
}

}  // namespace
