// Chapter 03's test, built against the pitfall and against the fix.
//
// Reads of 10 ms each, in virtual time. The fix must overlap them: three reads
// take 10 ms with three in flight. The pitfall awaits them one at a time, so
// they take 30 ms with one in flight, and the overlap tests say so. Both must
// return the results in the order asked, keep the other results when one read
// fails, let a bug (an exception that is not a database error) reach the
// caller, and leave no read running when they return: the pitfall's only
// defect is that it waits for each read before starting the next.
//
// Every call is observed from outside (see call()): how long it took, how
// many reads were in flight at once, how many were still running when it
// returned or threw, and what it threw. The gallery of wrong fixes in
// wrong-fixes/ is what these checks are written against: each failure message
// names the mistake, with the figures.
#include "note_reader.hpp"

#include <cxxabi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <boost/json/object.hpp>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "workbook/clock.hpp"
#include "workbook/format.hpp"
#include "workbook/run.hpp"
#include "workbook/watchdog.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using mockdb::Id;
using mockdb::OpKind;

namespace {

constexpr auto kLatency = 10ms;
constexpr int kNotes = 64;

// A bug in a read, planted by the test: an exception that is not a database
// error. Its type is private to the test, so no fix can special-case it.
class PlantedBug : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// A database whose read() of one note throws PlantedBug before it sends
// anything (as a failed internal check, or std::bad_alloc, would); every
// other operation goes to the mock.
class BuggyDatabase final : public mockdb::DatabaseService {
 public:
  BuggyDatabase(mockdb::MockDatabase& inner, Id buggy) : inner_(inner), buggy_(buggy) {}

  asio::awaitable<std::unique_ptr<mockdb::Connection>> connect() override {
    return inner_.connect();
  }
  asio::awaitable<Id> create(std::string table, mockdb::Row row) override {
    return inner_.create(std::move(table), std::move(row));
  }
  asio::awaitable<std::optional<mockdb::Row>> read(std::string table, Id id) override {
    if (id == buggy_) {
      throw PlantedBug("read() of note " + std::to_string(id) +
                       " failed an internal check (a bug planted by the test)");
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

 private:
  mockdb::MockDatabase& inner_;
  Id buggy_;
};

// "std::logic_error (\"what it said\")" for any exception.
std::string describe(const std::exception_ptr& thrown) {
  try {
    std::rethrow_exception(thrown);
  } catch (const std::exception& e) {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> name(
        abi::__cxa_demangle(typeid(e).name(), nullptr, nullptr, &status), std::free);
    return std::string(status == 0 ? name.get() : typeid(e).name()) + " (\"" + e.what() + "\")";
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

// "5, 99, 2" for a list of ids.
std::string join(const std::vector<Id>& ids) {
  std::string text;
  for (const Id id : ids) text += (text.empty() ? "" : ", ") + std::to_string(id);
  return text;
}

using workbook::format;

// What one call of read_notes() or read_three() did, seen from outside.
template <typename T>
struct Call {
  std::string what;                  // "read_notes() of 3 ids"
  std::optional<T> value;            // what it returned; empty if it threw
  std::exception_ptr thrown;         // what it threw
  workbook::Clock::duration took{};  // until it returned or threw, in virtual time
  std::size_t left_in_flight = 0;    // reads still running at that moment
  std::size_t max_in_flight = 0;     // the most reads running at once

  const char* ended() const { return thrown ? "threw" : "returned"; }
};

class SequentialVsConcurrent : public testing::Test {
 protected:
  SequentialVsConcurrent() {
    workbook::run_to_completion(ctx, ch03::add_sample_notes(db, kNotes), "adding sample notes");
    db.set_latency(OpKind::read, mockdb::Latency::fixed(kLatency));
    db.trace().clear();  // keep the reads only
  }

  // The title a note of the sample set has.
  static std::string title_of(Id id) { return "note " + std::to_string(id); }

  // Runs `task` (named `what` in messages) to its end and observes it. A
  // watchdog turns a thread blocked for good (future::get() on the loop's own
  // thread) into a deadlock report instead of a hang.
  template <typename T>
  Call<T> call(const char* what, asio::awaitable<T> task) {
    Call<T> seen;
    seen.what = what;
    {
      workbook::Watchdog watchdog(5s, seen.what);
      workbook::run_to_completion(ctx, observe(std::move(task), seen), seen.what);
    }
    seen.max_in_flight = db.stats()[OpKind::read].max_in_flight;
    return seen;
  }

  // Awaits `task` and writes down what it did the moment it ended. `seen` is
  // borrowed (against CP.53) only because call() runs this to its end before
  // `seen` goes away; if the run gives up (NeverCompleted), the test ends and
  // the frame is destroyed with `ctx`, never resumed.
  template <typename T>
  asio::awaitable<void> observe(asio::awaitable<T> task, Call<T>& seen) {
    const auto start = workbook::Clock::now();
    try {
      seen.value.emplace(co_await std::move(task));
    } catch (...) {
      seen.thrown = std::current_exception();
    }
    seen.took = workbook::Clock::now() - start;
    seen.left_in_flight = db.stats()[OpKind::read].in_flight;
  }

  // Fails the test if the call left reads running behind it: "read_notes() of
  // 3 ids returned after 0 ms while 3 reads were still in flight".
  template <typename T>
  bool expect_nothing_left_running(const Call<T>& seen) const {
    if (seen.left_in_flight == 0) return true;
    ADD_FAILURE() << format("%s %s after %.0f ms while %zu reads were still in flight",
                            seen.what.c_str(), seen.ended(), workbook::to_ms(seen.took),
                            seen.left_in_flight)
                  << "; expected every read it started to have ended (completed, or cancelled "
                     "and waited for).\nA read spawned with `detached` reports to nobody, and "
                     "a sleep only guesses how long reads take: wait for the reads themselves "
                     "(make_parallel_group, operator&&, or a channel each read signals).";
    return false;
  }

  // Fails the test unless the call returned (did not throw) and left nothing
  // running; `because` says why throwing is wrong here.
  template <typename T>
  bool expect_returned(const Call<T>& seen, const std::string& because) const {
    if (seen.thrown) {
      ADD_FAILURE() << seen.what << " threw " << describe(seen.thrown) << because;
      expect_nothing_left_running(seen);
      return false;
    }
    return expect_nothing_left_running(seen);
  }

  // Fails the test unless `reads` reads of kLatency each overlapped: "3 reads
  // took 30 ms with 1 in flight; reads did not overlap: expected at most 10 ms
  // with 3 in flight", followed by `advice`.
  template <typename T>
  void expect_overlap(const Call<T>& seen, std::size_t reads, const char* advice) const {
    const std::size_t in_flight = seen.max_in_flight;
    const double took = workbook::to_ms(seen.took);
    const double one = workbook::to_ms(kLatency);
    if (seen.took <= kLatency && in_flight == reads) return;
    if (in_flight < reads) {
      ADD_FAILURE() << format(
                           "%zu reads took %.0f ms with %zu in flight; reads did not overlap: "
                           "expected at most %.0f ms with %zu in flight",
                           reads, took, in_flight, one, reads)
                    << ".\n"
                    << advice;
    } else if (in_flight > reads) {
      ADD_FAILURE() << format(
          "%zu reads were in flight at once for %zu ids; expected one read "
          "per id",
          in_flight, reads);
    } else {
      ADD_FAILURE() << format(
          "%zu reads overlapped (%zu in flight) but %s took %.0f ms; expected at most %.0f ms, "
          "the time of one read.\nIt waited after its reads had completed: a sleep that "
          "guesses how long reads take? Wait for the reads themselves.",
          reads, in_flight, seen.what.c_str(), took, one);
    }
  }

  // The ids of the reads that failed, from the database's trace.
  std::vector<Id> failed_reads() {
    std::vector<Id> ids;
    for (const auto& span : db.trace().spans()) {
      if (span.operation == "read" && span.outcome == workbook::Outcome::failed) {
        ids.push_back(std::stoll(span.key.substr(span.key.find('/') + 1)));
      }
    }
    return ids;
  }

  // The ids of the reads, in the order they completed, from the trace.
  std::vector<Id> completion_order() {
    auto spans = db.trace().spans();
    std::erase_if(spans, [](const auto& s) { return s.operation != "read" || !s.end; });
    std::stable_sort(spans.begin(), spans.end(),
                     [](const auto& a, const auto& b) { return *a.end < *b.end; });
    std::vector<Id> ids;
    ids.reserve(spans.size());
    for (const auto& s : spans) ids.push_back(std::stoll(s.key.substr(s.key.find('/') + 1)));
    return ids;
  }

  // The checks of a batch with one injected database error, for either
  // function: every id has its result, the failed one holds the error, the
  // others hold their notes, and nothing was cancelled.
  void expect_one_failure_kept(const std::vector<ch03::NoteResult>& notes,
                               const std::vector<Id>& asked, const std::string& what) {
    const auto failed = failed_reads();
    ASSERT_EQ(failed.size(), 1u) << "the test injected one failure; the database saw "
                                 << failed.size();
    const Id failed_id = failed.front();
    if (notes.size() < asked.size()) {
      ADD_FAILURE() << format("%s returned %zu results: the failed read of note %lld was dropped",
                              what.c_str(), notes.size(), static_cast<long long>(failed_id))
                    << ". Keep it, with its error in its own result: the page must say \"could "
                       "not load\" for it, not leave it out (and the results must line up with "
                       "the ids asked).";
      return;
    }
    ASSERT_EQ(notes.size(), asked.size()) << "expected one result per id asked for";
    for (std::size_t i = 0; i < notes.size(); ++i) {
      EXPECT_EQ(notes[i].id, asked[i]) << "result " << i << " is for the wrong id";
      if (asked[i] == failed_id) {
        EXPECT_EQ(notes[i].error, mockdb::Errc::connection_reset)
            << "the read of note " << failed_id << " failed with connection_reset; its result "
            << "must say so";
        EXPECT_FALSE(notes[i].note) << "note " << failed_id << " failed yet holds a note";
      } else {
        EXPECT_FALSE(notes[i].failed()) << "note " << asked[i] << " did not fail, yet its result "
                                        << "holds the error " << notes[i].error.message();
        EXPECT_TRUE(notes[i].note) << "note " << asked[i] << " was lost when another read failed";
      }
    }
    EXPECT_EQ(db.stats()[OpKind::read].cancelled, 0u)
        << "a failed read cancelled the reads running beside it";
  }

  // The checks of a batch in which the read of note 2 threw PlantedBug: the
  // exception reaches the caller unchanged, and no read is left running.
  template <typename T>
  void expect_bug_reaches_the_caller(const Call<T>& seen,
                                     const std::vector<ch03::NoteResult>& returned) const {
    const std::string bug =
        "a read of note 2 threw std::logic_error (a bug planted by the test), which is not a "
        "database error, and " +
        seen.what;
    const char* advice =
        ".\nOnly database errors (boost::system::system_error, which read_note() already "
        "catches) become results. Anything else is a bug or memory exhausted: rethrow it to "
        "the caller (make_parallel_group hands it to you in its vector of exceptions; "
        "operator&& rethrows it).";
    if (!seen.thrown) {
      const auto bad =
          std::find_if(returned.begin(), returned.end(), [](const auto& n) { return n.id == 2; });
      if (bad != returned.end() && bad->failed()) {
        ADD_FAILURE() << bug << " reported it as a failed read of note 2 (error: \""
                      << bad->error.message() << "\"): a bug must reach the caller, not pass for "
                      << "a database failure" << advice;
      } else {
        ADD_FAILURE() << bug
                      << format(
                             " returned %zu results as if nothing had happened: the "
                             "exception was swallowed",
                             returned.size())
                      << advice;
      }
      expect_nothing_left_running(seen);
      return;
    }
    try {
      std::rethrow_exception(seen.thrown);
    } catch (const PlantedBug&) {
      // The read's own exception, unchanged.
    } catch (...) {
      ADD_FAILURE() << seen.what << " threw " << describe(seen.thrown)
                    << "; expected the read's own exception, unchanged: std::logic_error (\"read() "
                       "of note 2 failed an internal check (a bug planted by the test)\")";
    }
    expect_nothing_left_running(seen);
  }

  workbook::VirtualTime time;
  asio::io_context ctx;
  mockdb::MockDatabase db;
};

constexpr const char* kSerialAdvice =
    "Each read was awaited before the next was started, so the waits added up. Start all the "
    "reads, then await them together. (Awaiting co_spawn(..., use_awaitable) in a loop is still "
    "one at a time: with use_awaitable, as with deferred, the read starts only when awaited.)";

const std::string kDatabaseErrorIsAResult =
    "; expected it to return one result per id: a database error belongs in its read's result "
    "(NoteResult::error), next to the notes that were read";

TEST_F(SequentialVsConcurrent, ThreeReadsOverlap) {
  const auto seen = call("read_notes() of 3 ids", ch03::read_notes(db, {1, 2, 3}));
  if (!expect_returned(seen, kDatabaseErrorIsAResult)) return;

  const auto& notes = *seen.value;
  ASSERT_EQ(notes.size(), 3u) << "expected one result per id asked for";
  for (const auto& n : notes) EXPECT_TRUE(n.note) << "note " << n.id << " was not read";
  expect_overlap(seen, 3, kSerialAdvice);
}

TEST_F(SequentialVsConcurrent, ReadThreeOverlaps) {
  const auto seen = call("read_three()", ch03::read_three(db, 1, 2, 3));
  if (!expect_returned(seen, kDatabaseErrorIsAResult)) return;

  for (const auto& n : *seen.value) EXPECT_TRUE(n.note) << "note " << n.id << " was not read";
  expect_overlap(seen, 3,
                 "read_three() awaited each read before starting the next. Combine the three "
                 "reads with && so they run at once.");
}

TEST_F(SequentialVsConcurrent, ManyReadsOverlap) {
  std::vector<Id> ids;
  for (Id id = 1; id <= kNotes; ++id) ids.push_back(id);
  const auto seen = call("read_notes() of 64 ids", ch03::read_notes(db, ids));
  if (!expect_returned(seen, kDatabaseErrorIsAResult)) return;

  EXPECT_EQ(seen.value->size(), ids.size()) << "expected one result per id asked for";
  expect_overlap(seen, ids.size(),
                 "The number of reads is known only at run time: start them all (a range of "
                 "operations) and await the group. Concurrency sized for the test's three reads "
                 "(batches of three, a fixed && of three) is not enough.");
}

TEST_F(SequentialVsConcurrent, ResultsComeInTheOrderAsked) {
  // Reads of different lengths finish out of order; the results must not.
  db.set_latency(OpKind::read, mockdb::Latency::uniform(1ms, 20ms));
  const std::vector<Id> ids{5, 99, 2, 7, 1, 2};  // 99 does not exist; 2 is asked twice
  const auto seen = call("read_notes() of 6 ids", ch03::read_notes(db, ids));
  if (!expect_returned(seen, kDatabaseErrorIsAResult)) return;

  const auto& notes = *seen.value;
  ASSERT_EQ(notes.size(), ids.size()) << "expected one result per id asked for";
  std::vector<Id> got;
  got.reserve(notes.size());
  for (const auto& n : notes) got.push_back(n.id);
  if (got != ids) {
    const bool by_completion = got == completion_order();
    ADD_FAILURE() << "the results are for notes " << join(got) << ", in that order; expected "
                  << join(ids)
                  << (by_completion
                          ? ": they came in the order the reads completed, not in the order "
                            "asked. Put each result at the index of its id (make_parallel_group's "
                            "results are already in the order of its operations; its first "
                            "vector, the completion order, is not the order to use)."
                          : ", the order asked: result i must be for ids[i].");
    return;
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
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
  const std::vector<Id> ids{1, 2, 3};
  const auto seen = call("read_notes() of 3 ids", ch03::read_notes(db, ids));
  if (!expect_returned(seen, " when 1 of 3 reads failed" + kDatabaseErrorIsAResult)) return;
  expect_one_failure_kept(*seen.value, ids, seen.what);
}

TEST_F(SequentialVsConcurrent, ReadThreeKeepsTheOthersWhenOneFails) {
  db.fail_next(1, mockdb::Errc::connection_reset, OpKind::read);
  const auto seen = call("read_three()", ch03::read_three(db, 3, 1, 2));
  if (!expect_returned(seen, " when 1 of 3 reads failed" + kDatabaseErrorIsAResult)) return;
  expect_one_failure_kept({seen.value->begin(), seen.value->end()}, {3, 1, 2}, seen.what);
}

TEST_F(SequentialVsConcurrent, ABugInOneReadReachesTheCaller) {
  BuggyDatabase buggy(db, 2);
  const auto seen = call("read_notes() of 3 ids", ch03::read_notes(buggy, {1, 2, 3}));
  expect_bug_reaches_the_caller(seen, seen.value.value_or(std::vector<ch03::NoteResult>{}));
}

TEST_F(SequentialVsConcurrent, ABugInOneReadOfThreeReachesTheCaller) {
  BuggyDatabase buggy(db, 2);
  const auto seen = call("read_three()", ch03::read_three(buggy, 1, 2, 3));
  std::vector<ch03::NoteResult> returned;
  if (seen.value) returned.assign(seen.value->begin(), seen.value->end());
  expect_bug_reaches_the_caller(seen, returned);
}

TEST_F(SequentialVsConcurrent, NoIdsNoReads) {
  const auto seen = call("read_notes() of no ids", ch03::read_notes(db, {}));
  if (!expect_returned(seen, "; expected an empty list of results")) return;
  EXPECT_TRUE(seen.value->empty()) << "no ids were asked for, yet results came back";
  EXPECT_EQ(db.stats()[OpKind::read].started, 0u) << "no ids were asked for, yet reads started";
}

}  // namespace
