// Chapter 15's test: it tests your tests.
//
// Your tests (register_tests() in note_service_tests.cpp) are run, each in a
// fresh Fixture, against the correct NoteService and against each broken one
// the chapter provides (note_services.cpp). Against the correct service every
// one of them must pass, and each must reach the database (a test that starts
// no database operation never ran its loop or never called the service: its
// checks cannot fail). Against each broken service at least one must fail:
// one GoogleTest test per broken service says whether your tests caught it,
// so that `./workbook check 15` lists each bug your tests missed.
//
// A failure of one of your tests is captured (runner.cpp), not reported as a
// failure of this suite, so that a test failing a broken service is what
// passes here.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "note_service.hpp"
#include "workbook/format.hpp"

namespace {

using ch15::Impl;
using ch15::Outcome;

// A failure message on one line, cut short if it is long.
std::string one_line(std::string message) {
  for (char& c : message) {
    if (c == '\n') c = ' ';
  }
  constexpr std::size_t kLongest = 300;
  if (message.size() > kLongest) message.erase(kLongest).append("...");
  return message;
}

const ch15::BrokenImpl& broken(Impl impl) {
  for (const ch15::BrokenImpl& b : ch15::broken_impls()) {
    if (b.impl == impl) return b;
  }
  throw std::logic_error("no such broken implementation");
}

TEST(YourTests, PassAgainstTheCorrectService) {
  const ch15::TestList tests = ch15::registered_tests();
  ASSERT_FALSE(tests.tests().empty())
      << "register_tests() added no test: add yours with tests.add(\"what it checks\", function)";
  for (const Outcome& outcome : ch15::run_against(tests, Impl::correct)) {
    if (!outcome.failed()) continue;
    std::string all;
    for (const std::string& failure : outcome.failures) all += "\n    " + one_line(failure);
    ADD_FAILURE() << workbook::format(
        "your test '%s' failed against the correct service (%zu failure(s)); a test must pass "
        "when the service keeps its contract (note_service.hpp), so it checks something the "
        "contract does not promise (the fixture runs in virtual time: time things with "
        "workbook::Clock::now(); the wall clock measures only how fast the simulation ran):%s",
        outcome.test.c_str(), outcome.failures.size(), all.c_str());
  }
}

TEST(YourTests, EachReachesTheDatabase) {
  for (const Outcome& outcome : ch15::run_against(ch15::registered_tests(), Impl::correct)) {
    EXPECT_GT(outcome.db_operations, 0U) << workbook::format(
        "your test '%s' started 0 database operations against the correct service: it never "
        "ran its io_context (co_spawn only queues a coroutine; workbook::run_to_completion(f.ctx, "
        "task) runs it), or never called the service, so none of its checks can fail",
        outcome.test.c_str());
  }
}

void expect_caught(Impl impl) {
  const ch15::BrokenImpl& bug = broken(impl);
  const std::vector<Outcome> outcomes = ch15::run_against(ch15::registered_tests(), impl);
  for (const Outcome& outcome : outcomes) {
    if (outcome.failed()) return;  // caught: one failing test is enough
  }
  // One line per bug missed (a test that never runs its loop has a test of its own).
  ADD_FAILURE() << workbook::format(
      "your tests passed against a broken implementation: %s (%s); all %zu of them passed, and "
      "at least one must fail. Write a test that catches it: %s.",
      bug.name, bug.bug, outcomes.size(), bug.hint);
}

// One test per broken implementation, so that each bug missed is its own line.
TEST(YourTestsCatch, SaveNeverCommits) { expect_caught(Impl::save_never_commits); }
TEST(YourTestsCatch, SaveSwallowsErrors) { expect_caught(Impl::save_swallows_errors); }
TEST(YourTestsCatch, OneConnectionForAll) { expect_caught(Impl::one_connection_for_all); }
TEST(YourTestsCatch, LostUpdate) { expect_caught(Impl::lost_update); }
TEST(YourTestsCatch, StaleTitleAfterRename) { expect_caught(Impl::stale_title_after_rename); }
TEST(YourTestsCatch, TimeoutNeverFires) { expect_caught(Impl::timeout_never_fires); }
TEST(YourTestsCatch, TimeoutFiresEarly) { expect_caught(Impl::timeout_fires_early); }
TEST(YourTestsCatch, TimeoutLeavesWriteRunning) {
  expect_caught(Impl::timeout_leaves_write_running);
}

// A broken implementation the chapter adds must be tested here too.
TEST(YourTestsCatch, EveryBrokenImplementationHasATest) {
  EXPECT_EQ(ch15::broken_impls().size(), 8U)
      << "note_services.cpp lists a broken implementation this suite does not run: add a "
         "TEST(YourTestsCatch, ...) for it";
}

}  // namespace
