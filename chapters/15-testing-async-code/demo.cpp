// Chapter 15's demo: your tests against every implementation. Built twice, as
// ch15_demo_pitfall and ch15_demo_fix (and ch15_demo_learner for your copy).
// It runs each registered test against the correct NoteService and against
// each broken one, in virtual time, and draws the result as a grid: a test
// that fails a broken service has caught it ("caught"); a broken service that
// every test passes is a bug your tests would ship. It also counts the
// database operations each test started: a test that starts none never ran
// its loop, and its checks never ran either.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "note_service_runner.hpp"
#include "workbook/measured.hpp"
#include "workbook/run.hpp"
#include "workbook/variant.hpp"

namespace {

bool colour() {
  const char* no_colour = std::getenv("NO_COLOR");
  return (no_colour == nullptr || *no_colour == '\0') && isatty(fileno(stdout)) != 0;
}

void demo() {
  const bool in_colour = colour();
  const char* red = in_colour ? "\033[31m" : "";
  const char* green = in_colour ? "\033[32m" : "";
  const char* plain = in_colour ? "\033[0m" : "";

  const ch15::TestList tests = ch15::registered_tests();
  std::printf("chapter 15 (%s): %zu test(s) in note_service_tests.cpp\n\n",
              workbook::variant_name(), tests.tests().size());

  std::printf("against the correct service:\n");
  for (const ch15::Outcome& outcome : ch15::run_against(tests, ch15::Impl::correct)) {
    std::printf("  %-42s %s%-6s%s %3llu database operations%s\n", outcome.test.c_str(),
                outcome.failed() ? red : green, outcome.failed() ? "FAILED" : "passed", plain,
                static_cast<unsigned long long>(outcome.db_operations),
                outcome.db_operations == 0 ? "  <- its loop never ran: it checked nothing" : "");
  }

  std::printf("\nagainst each broken service (a test that fails it has caught the bug):\n");
  std::size_t caught = 0;
  for (const ch15::BrokenImpl& bug : ch15::broken_impls()) {
    std::string by;
    std::size_t catchers = 0;
    std::uint64_t failed_unseen = 0;
    for (const ch15::Outcome& outcome : ch15::run_against(tests, bug.impl)) {
      if (outcome.failed()) {
        if (catchers++ == 0) by = "by '" + outcome.test + "'";
      } else {
        failed_unseen += outcome.db_failures;
      }
    }
    if (catchers > 1) by += " and " + std::to_string(catchers - 1) + " more";
    if (catchers > 0) {
      ++caught;
      std::printf("  %-30s %scaught%s %s\n", bug.name, green, plain, by.c_str());
      continue;
    }
    std::printf("  %-30s %sMISSED%s %s\n", bug.name, red, plain, bug.bug);
    if (failed_unseen > 0) {
      std::printf(
          "  %-30s        %llu database operation(s) failed during your tests; none noticed\n", "",
          static_cast<unsigned long long>(failed_unseen));
    }
  }
  std::printf("\nyour tests caught %zu of %zu broken services.\n", caught,
              ch15::broken_impls().size());
  workbook::print_measured("caught", static_cast<double>(caught), "services");
}

}  // namespace

int main() { return workbook::run_demo("the chapter 15 demo", demo); }
