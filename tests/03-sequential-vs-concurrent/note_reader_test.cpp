// Chapter 03's test, built against the pitfall and against the fix.
//
// Reads of 10 ms each, in virtual time. The fix must overlap them: three reads
// take 10 ms with three in flight. The pitfall awaits them one at a time, so
// they take 30 ms with one in flight, and the overlap tests say so. Both must
// return the results in the order asked and keep the other results when one
// read fails: the pitfall's only defect is that it waits for each read before
// starting the next.
#include "note_reader.hpp"

#include <gtest/gtest.h>

#include <array>
#include <boost/json/object.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "workbook/clock.hpp"
#include "workbook/run.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using mockdb::Id;
using mockdb::OpKind;

namespace {

constexpr auto kLatency = 10ms;
constexpr int kNotes = 64;

class SequentialVsConcurrent : public testing::Test {
 protected:
  SequentialVsConcurrent() {
    workbook::run_to_completion(ctx, ch03::add_sample_notes(db, kNotes), "adding sample notes");
    db.set_latency(OpKind::read, mockdb::Latency::fixed(kLatency));
  }

  // The title a note of the sample set has.
  static std::string title_of(Id id) { return "note " + std::to_string(id); }

  // Runs `task` and returns how long it took, in virtual time.
  template <typename T>
  workbook::Clock::duration timed(asio::awaitable<T> task, T& result) {
    const auto start = workbook::Clock::now();
    result = workbook::run_to_completion(ctx, std::move(task));
    return workbook::Clock::now() - start;
  }

  // Fails the test unless `reads` reads of kLatency each overlapped: "3 reads
  // took 30 ms with 1 in flight; reads did not overlap: expected at most 10 ms
  // with 3 in flight", followed by `advice`.
  void expect_overlap(std::size_t reads, workbook::Clock::duration took, const char* advice) const {
    const std::size_t in_flight = db.stats()[OpKind::read].max_in_flight;
    if (took <= kLatency && in_flight == reads) return;
    char message[200];
    std::snprintf(message, sizeof message,
                  "%zu reads took %.0f ms with %zu in flight; reads did not overlap: expected at "
                  "most %.0f ms with %zu in flight",
                  reads, workbook::to_ms(took), in_flight, workbook::to_ms(kLatency), reads);
    ADD_FAILURE() << message << ".\n" << advice;
  }

  workbook::VirtualTime time;
  asio::io_context ctx;
  mockdb::MockDatabase db;
};

TEST_F(SequentialVsConcurrent, ThreeReadsOverlap) {
  std::vector<ch03::NoteResult> notes;
  const auto took = timed(ch03::read_notes(db, {1, 2, 3}), notes);

  ASSERT_EQ(notes.size(), 3u);
  for (const auto& n : notes) EXPECT_TRUE(n.note) << "note " << n.id << " was not read";
  expect_overlap(3, took,
                 "Each read was awaited before the next was started, so the waits added up. "
                 "Start all the reads, then await them together.");
}

TEST_F(SequentialVsConcurrent, ReadThreeOverlaps) {
  std::array<ch03::NoteResult, 3> notes;
  const auto took = timed(ch03::read_three(db, 1, 2, 3), notes);

  for (const auto& n : notes) EXPECT_TRUE(n.note) << "note " << n.id << " was not read";
  expect_overlap(3, took,
                 "read_three() awaited each read before starting the next. Combine the three "
                 "reads with && so they run at once.");
}

TEST_F(SequentialVsConcurrent, ManyReadsOverlap) {
  std::vector<Id> ids;
  for (Id id = 1; id <= kNotes; ++id) ids.push_back(id);
  std::vector<ch03::NoteResult> notes;
  const auto took = timed(ch03::read_notes(db, ids), notes);

  EXPECT_EQ(notes.size(), ids.size());
  expect_overlap(ids.size(), took,
                 "The number of reads is known only at run time: start them all (a range of "
                 "operations) and await the group.");
}

TEST_F(SequentialVsConcurrent, ResultsComeInTheOrderAsked) {
  // Reads of different lengths finish out of order; the results must not.
  db.set_latency(OpKind::read, mockdb::Latency::uniform(1ms, 20ms));
  const std::vector<Id> ids{5, 99, 2, 7, 1, 2};  // 99 does not exist; 2 is asked twice
  std::vector<ch03::NoteResult> notes;
  timed(ch03::read_notes(db, ids), notes);

  ASSERT_EQ(notes.size(), ids.size()) << "expected one result per id asked for";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(notes[i].id, ids[i]) << "result " << i << " is for the wrong id";
    EXPECT_FALSE(notes[i].failed()) << "the read of note " << ids[i] << " failed";
    if (ids[i] == 99) {
      EXPECT_FALSE(notes[i].note) << "note 99 does not exist, yet a note was returned";
    } else if (!notes[i].note) {
      ADD_FAILURE() << "note " << ids[i] << " was not found";
    } else {
      EXPECT_EQ(notes[i].note->at("title").as_string(), title_of(ids[i]))
          << "result " << i << " holds another note";
    }
  }
}

TEST_F(SequentialVsConcurrent, OneFailedReadKeepsTheOthers) {
  db.fail_next(1, mockdb::Errc::connection_reset, OpKind::read);
  std::vector<ch03::NoteResult> notes;
  timed(ch03::read_notes(db, {1, 2, 3}), notes);

  ASSERT_EQ(notes.size(), 3u) << "expected a result for every id, the failed one included";
  int failed = 0;
  for (const auto& n : notes) {
    if (n.failed()) {
      ++failed;
      EXPECT_EQ(n.error, mockdb::Errc::connection_reset) << "note " << n.id;
      EXPECT_FALSE(n.note) << "note " << n.id << " failed yet holds a note";
    } else {
      EXPECT_TRUE(n.note) << "note " << n.id << " was lost when another read failed";
    }
  }
  EXPECT_EQ(failed, 1) << "expected exactly the one injected failure to be reported";
  EXPECT_EQ(db.stats()[OpKind::read].cancelled, 0u)
      << "a failed read cancelled the reads running beside it";
}

TEST_F(SequentialVsConcurrent, ReadThreeKeepsTheOthersWhenOneFails) {
  db.fail_next(1, mockdb::Errc::connection_reset, OpKind::read);
  std::array<ch03::NoteResult, 3> notes;
  timed(ch03::read_three(db, 3, 1, 2), notes);

  const std::array<Id, 3> asked{3, 1, 2};
  int failed = 0;
  for (std::size_t i = 0; i < notes.size(); ++i) {
    EXPECT_EQ(notes[i].id, asked[i]) << "result " << i << " is for the wrong id";
    if (notes[i].failed()) {
      ++failed;
    } else {
      EXPECT_TRUE(notes[i].note) << "note " << asked[i] << " was lost when another read failed";
    }
  }
  EXPECT_EQ(failed, 1) << "expected exactly the one injected failure to be reported";
  EXPECT_EQ(db.stats()[OpKind::read].cancelled, 0u)
      << "a failed read cancelled the reads running beside it";
}

TEST_F(SequentialVsConcurrent, NoIdsNoReads) {
  std::vector<ch03::NoteResult> notes;
  timed(ch03::read_notes(db, {}), notes);
  EXPECT_TRUE(notes.empty());
  EXPECT_EQ(db.stats()[OpKind::read].started, 0u);
}

}  // namespace
