// Chapter 15's runner and services: what the chapter's test, demo and
// benchmark use to run your tests against each implementation. Your exercise
// file does not include this header (it includes note_service.hpp only): the
// correct implementation is not yours to compare against, and your tests see
// the service through its interface alone.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "note_service.hpp"

namespace ch15 {

/// The implementations the chapter provides: the correct one and the broken ones.
enum class Impl {
  correct,
  correct_connection_per_save,  ///< correct too: a connection of its own per save()
  save_never_commits,
  save_swallows_errors,
  one_connection_for_all,
  lost_update,
  stale_title_after_rename,
  timeout_never_fires,
  timeout_fires_early,
  timeout_fires_late,
  save_rewraps_errors,
  timeout_leaves_write_running,
};

/// A broken implementation: its name, its bug, and the test that catches it.
struct BrokenImpl {
  Impl impl;
  const char* name;  ///< "save-never-commits"
  const char* bug;   ///< what is wrong with it
  const char* hint;  ///< a test that would catch it
};

/// Every broken implementation the chapter provides (note_services.cpp).
std::span<const BrokenImpl> broken_impls();

/// A service of implementation `impl` on `db`.
std::unique_ptr<NoteService> make_note_service(Impl impl, mockdb::DatabaseService& db);

/// What one of your tests did against one implementation.
struct Outcome {
  std::string test;                       ///< its name
  std::vector<std::string> failures;      ///< each failed check or escaped exception, as a sentence
  std::uint64_t db_operations = 0;        ///< operations it started on the database
  std::uint64_t db_failures = 0;          ///< of those, the ones that failed
  workbook::Clock::duration simulated{};  ///< the virtual time it took
  bool failed() const noexcept { return !failures.empty(); }
};

/// Runs every test of `tests` against a fresh Fixture of `impl`, capturing
/// their EXPECT_/ASSERT_ failures and exceptions instead of reporting them. A
/// test still running after `budget` of real time ends the process with a
/// watchdog report naming it. A `wall_per_call` above zero makes each call of
/// the service take that much real time (a busy machine): the service's
/// contract is in virtual time, so a correct test cannot tell.
std::vector<Outcome> run_against(const TestList& tests, Impl impl,
                                 std::chrono::milliseconds budget = std::chrono::seconds(5),
                                 std::chrono::microseconds wall_per_call = {});

/// The tests register_tests() adds. (Inline, so that the support code, linked
/// after the exercise, does not depend on it.)
inline TestList registered_tests() {
  TestList tests;
  register_tests(tests);
  return tests;
}

}  // namespace ch15
