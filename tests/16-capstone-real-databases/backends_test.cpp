// Chapter 16 end to end on every backend this build has: the same service, unchanged, on the
// mock, on SQLite and on PostgreSQL (a throwaway server, or the one PGHOST names). Real time
// here (a real database has no virtual clock), so nothing is asserted about time: only what
// the service returns. A backend that cannot run on this machine is skipped, saying why, and
// fails the test under CI=true.
#include "workbook/backends.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "notes_service.hpp"
#include "workbook/run.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

class CapstoneOnBackend : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    try {
      db_ = ch16::open_backend(GetParam(), ctx_.get_executor());
    } catch (const workbook::BackendUnavailable& e) {
      if (workbook::running_in_ci()) {
        FAIL() << e.what() << "\n(CI=true: a backend that cannot run is a failure here)";
      }
      GTEST_SKIP() << e.what();
    }
    workbook::run_to_completion(ctx_, ch16::add_sample_notes(*db_, 2, 30));
  }
  void TearDown() override { db_.reset(); }  // before the io_context

  template <typename T>
  T run(asio::awaitable<T> task) {
    return workbook::run_to_completion(ctx_, std::move(task));
  }

  static ch16::Policy policy() {
    ch16::Policy p;
    p.timeout = 10s;  // a real server on a busy machine, not a deadline under test
    return p;
  }

  asio::io_context ctx_;
  std::unique_ptr<mockdb::DatabaseService> db_;
};

TEST_P(CapstoneOnBackend, ReadsABatchInOrderWithTheMissingOnesEmpty) {
  ch16::NotesService service(*db_, policy());
  std::vector<mockdb::Id> ids;
  for (mockdb::Id id = 1; id <= 70; ++id) ids.push_back(id);
  const auto notes = run(service.read_notes(ids));
  ASSERT_EQ(notes.size(), ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] <= 60) {
      ASSERT_TRUE(notes[i].has_value()) << "note " << ids[i] << " is missing on " << GetParam();
      EXPECT_EQ(notes[i]->at("id").to_number<mockdb::Id>(), ids[i]);
    } else {
      EXPECT_FALSE(notes[i].has_value()) << "note " << ids[i] << " does not exist";
    }
  }
}

TEST_P(CapstoneOnBackend, ExportsAnOwnersNotesInIdOrder) {
  ch16::NotesService service(*db_, policy());
  std::vector<mockdb::Id> seen;
  ch16::NoteSink sink = [&seen](const mockdb::Row& note) {
    seen.push_back(note.at("id").to_number<mockdb::Id>());
    return true;
  };
  EXPECT_EQ(run(service.export_notes(1, sink)), 30u);
  ASSERT_EQ(seen.size(), 30u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end()) << "a note came twice";
}

TEST_P(CapstoneOnBackend, CreatesANoteThatCanBeReadBack) {
  ch16::NotesService service(*db_, policy());
  const mockdb::Id id = run(service.create_note(3, "written on " + GetParam()));
  const auto note = run(service.read_note(id));
  ASSERT_TRUE(note.has_value());
  EXPECT_EQ(note->at("title").as_string(), "written on " + GetParam());
}

INSTANTIATE_TEST_SUITE_P(Backends, CapstoneOnBackend, testing::ValuesIn(workbook::backend_names()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
