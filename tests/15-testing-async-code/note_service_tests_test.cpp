// Chapter 15's test: it tests your tests.
//
// Your tests (register_tests() in note_service_tests.cpp) are run, each in a
// fresh Fixture, against each broken NoteService the chapter provides
// (note_services.cpp) and five times against a correct one (see runs()).
// Against a correct service every one of them must pass, every time, and each
// must reach the database (a test that starts no database operation never ran
// its loop or never called the service: its checks cannot fail). Against each broken service at
// least one must fail: one GoogleTest test per broken service says whether your tests caught it, so
// that `./workbook check 15` lists each bug your tests missed.
//
// A failure of one of your tests is captured (runner.cpp), not reported as a
// failure of this suite, so that a test failing a broken service is what
// passes here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "note_service_runner.hpp"
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

// How many times your tests run against the correct service as it is: at fast
// pace, and once more with every call taking real time, as on a busy machine.
// They run once more against a correct service built another way.
constexpr int kCorrectRuns = 3;
constexpr std::chrono::microseconds kBusyMachine{1000};

bool correct_service(Impl impl) {
  return impl == Impl::correct || impl == Impl::correct_connection_per_save;
}

struct SuiteRun {
  Impl impl;
  bool busy = false;  // each call of the service takes kBusyMachine of real time
  std::vector<Outcome> outcomes;
};

// Every run of your tests this process makes, in the order made: a correct
// service kCorrectRuns + 2 times, interleaved with the broken ones in a
// shuffled order (seeded: the same order on every run of the suite), never
// first. A test that passes only when it runs first, or that remembers an
// earlier run, or that depends on how fast the machine is, gets a verdict
// that varies here.
const std::vector<SuiteRun>& runs() {
  static const std::vector<SuiteRun> all = [] {
    std::vector<SuiteRun> order;
    for (const ch15::BrokenImpl& b : ch15::broken_impls()) order.push_back({b.impl, false, {}});
    for (int i = 0; i < kCorrectRuns; ++i) order.push_back({Impl::correct, false, {}});
    order.push_back({Impl::correct_connection_per_save, false, {}});
    order.push_back({Impl::correct, true, {}});
    std::mt19937 shuffle(15);  // NOLINT(cert-msc32-c,cert-msc51-cpp): deterministic on purpose
    std::shuffle(order.begin(), order.end(), shuffle);
    if (correct_service(order.front().impl)) {
      const auto first_broken = std::find_if(
          order.begin(), order.end(), [](const SuiteRun& r) { return !correct_service(r.impl); });
      std::iter_swap(order.begin(), first_broken);
    }
    const ch15::TestList tests = ch15::registered_tests();
    for (SuiteRun& run : order) {
      run.outcomes = ch15::run_against(tests, run.impl, std::chrono::seconds(5),
                                       run.busy ? kBusyMachine : std::chrono::microseconds{});
    }
    return order;
  }();
  return all;
}

// Whether a failure is about time (so that the virtual-time advice fits).
bool about_time(const std::vector<std::string>& failures) {
  for (std::string failure : failures) {
    std::transform(failure.begin(), failure.end(), failure.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const char* word :
         {"clock", "time", "duration", "deadline", "timeout", "ms)", "elapsed"}) {
      if (failure.find(word) != std::string::npos) return true;
    }
  }
  return false;
}

constexpr const char* kVirtualTime =
    " (the fixture runs in virtual time: time things with workbook::Clock::now(); the wall clock "
    "measures only how fast the simulation ran)";

TEST(YourTests, PassAgainstTheCorrectService) {
  const ch15::TestList tests = ch15::registered_tests();
  ASSERT_FALSE(tests.tests().empty())
      << "register_tests() added no test: add yours with tests.add(\"what it checks\", function)";
  std::vector<const SuiteRun*> correct;
  for (const SuiteRun& run : runs()) {
    if (correct_service(run.impl)) correct.push_back(&run);
  }
  for (std::size_t t = 0; t < tests.tests().size(); ++t) {
    int failed = 0;
    int failed_busy = 0;
    int failed_other_build = 0;
    const Outcome* failure = nullptr;
    for (const SuiteRun* run : correct) {
      const Outcome& outcome = run->outcomes.at(t);
      if (!outcome.failed()) continue;
      ++failed;
      if (run->busy) ++failed_busy;
      if (run->impl != Impl::correct) ++failed_other_build;
      if (failure == nullptr) failure = &outcome;
    }
    if (failure == nullptr) continue;
    std::string all;
    for (const std::string& line : failure->failures) all += "\n    " + one_line(line);
    const int of = static_cast<int>(correct.size());
    if (failed == failed_other_build) {
      ADD_FAILURE() << workbook::format(
          "your test '%s' failed against a correct service built another way (each save() opens "
          "a connection of its own): it checks how the service is built (a count of connections "
          "or of operations of one kind), which the contract does not promise; check what the "
          "caller and the database see instead:%s",
          failure->test.c_str(), all.c_str());
    } else if (failed == failed_busy) {
      ADD_FAILURE() << workbook::format(
          "your test '%s' failed against the correct service only in the run where each call of "
          "the service took %lld us of real time, as on a busy machine: its verdict depends on "
          "the machine's speed (the wall clock) or on how the service is put together, which the "
          "contract says nothing about%s:%s",
          failure->test.c_str(), static_cast<long long>(kBusyMachine.count()), kVirtualTime,
          all.c_str());
    } else if (failed < of) {
      ADD_FAILURE() << workbook::format(
          "your test '%s' is flaky against the correct service: it failed %d of the %d times it "
          "ran against it (each time in a fresh fixture, in a fixed shuffled order with the broken "
          "services), so its verdict depends on what ran before it or on luck; a test must give "
          "the same verdict every time (no static state, no wall clock)%s:%s",
          failure->test.c_str(), failed, of, about_time(failure->failures) ? kVirtualTime : "",
          all.c_str());
    } else {
      ADD_FAILURE() << workbook::format(
          "your test '%s' failed against the correct service (%zu failure(s)); a test must pass "
          "when the service keeps its contract (note_service.hpp), so it checks something the "
          "contract does not promise%s:%s",
          failure->test.c_str(), failure->failures.size(),
          about_time(failure->failures) ? kVirtualTime : "", all.c_str());
    }
  }
}

TEST(YourTests, EachReachesTheDatabase) {
  for (const SuiteRun& run : runs()) {
    if (run.impl != Impl::correct || run.busy) continue;  // the first fast run as it is
    for (const Outcome& outcome : run.outcomes) {
      EXPECT_GT(outcome.db_operations, 0U) << workbook::format(
          "your test '%s' started 0 database operations against the correct service: it never "
          "ran its io_context (co_spawn only queues a coroutine; "
          "workbook::run_to_completion(f.ctx, task) runs it), or never called the service, so "
          "none of its checks can fail",
          outcome.test.c_str());
    }
    return;
  }
}

// A test that failed against no service at all may check nothing (an EXPECT
// in a coroutine that never ran, say): said, not failed, for a test of a
// promise no broken service breaks is a good test too. (GoogleTest does not
// report the checks that pass, so the suite cannot count the checks that ran.)
TEST(YourTests, SayWhichNeverFailed) {
  const ch15::TestList tests = ch15::registered_tests();
  for (std::size_t t = 0; t < tests.tests().size(); ++t) {
    bool ever_failed = false;
    for (const SuiteRun& run : runs()) ever_failed = ever_failed || run.outcomes.at(t).failed();
    if (ever_failed) continue;
    std::printf(
        "note: your test '%s' failed against none of the %zu broken services: if it is meant to "
        "catch one, check that its checks run (an EXPECT inside a coroutine that no loop runs "
        "never executes)\n",
        tests.tests()[t].name.c_str(), ch15::broken_impls().size());
  }
}

void expect_caught(Impl impl) {
  const ch15::BrokenImpl& bug = broken(impl);
  for (const SuiteRun& run : runs()) {
    if (run.impl != impl) continue;
    for (const Outcome& outcome : run.outcomes) {
      if (outcome.failed()) return;  // caught: one failing test is enough
    }
    // One line per bug missed (a test that never runs its loop has a test of its own).
    ADD_FAILURE() << workbook::format(
        "your tests passed against a broken implementation: %s (%s); all %zu of them passed, "
        "and at least one must fail. Write a test that catches it: %s.",
        bug.name, bug.bug, run.outcomes.size(), bug.hint);
    return;
  }
  FAIL() << "the suite never ran your tests against " << bug.name;
}

// One test per broken implementation, so that each bug missed is its own line.
TEST(YourTestsCatch, SaveNeverCommits) { expect_caught(Impl::save_never_commits); }
TEST(YourTestsCatch, SaveSwallowsErrors) { expect_caught(Impl::save_swallows_errors); }
TEST(YourTestsCatch, OneConnectionForAll) { expect_caught(Impl::one_connection_for_all); }
TEST(YourTestsCatch, LostUpdate) { expect_caught(Impl::lost_update); }
TEST(YourTestsCatch, StaleTitleAfterRename) { expect_caught(Impl::stale_title_after_rename); }
TEST(YourTestsCatch, TimeoutNeverFires) { expect_caught(Impl::timeout_never_fires); }
TEST(YourTestsCatch, TimeoutFiresEarly) { expect_caught(Impl::timeout_fires_early); }
TEST(YourTestsCatch, TimeoutFiresLate) { expect_caught(Impl::timeout_fires_late); }
TEST(YourTestsCatch, SaveRewrapsErrors) { expect_caught(Impl::save_rewraps_errors); }
TEST(YourTestsCatch, TimeoutLeavesWriteRunning) {
  expect_caught(Impl::timeout_leaves_write_running);
}

// A broken implementation the chapter adds must be tested here too.
TEST(YourTestsCatch, EveryBrokenImplementationHasATest) {
  EXPECT_EQ(ch15::broken_impls().size(), 10U)
      << "note_services.cpp lists a broken implementation this suite does not run: add a "
         "TEST(YourTestsCatch, ...) for it";
}

}  // namespace
