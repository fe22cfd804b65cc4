// Chapter 15 — testing async code.
//
// This chapter turns the roles round: the service is given, and you write its
// tests. NoteService (below) saves, reads, renames and likes notes on the mock
// database, and saves with a deadline. The chapter provides one correct
// implementation and several broken ones, each with one bug a test should
// catch. Your tests (note_service_tests.cpp) are run against every one of
// them: they must all pass against the correct service, and for each broken
// one at least one of them must fail. That is mutation testing, with you
// writing the tests.
//
// The implementations and the runner are declared in a header of their own
// that your file does not include: your tests see the service only through
// this interface, as a caller would.
//
// A test is a function that takes a Fixture: a fresh io_context, mock database
// and service, in virtual time (see docs/harness.md), for that test alone. It
// checks with GoogleTest's EXPECT_ and ASSERT_ macros. register_tests() names
// each one.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "workbook/clock.hpp"

namespace ch15 {

/// The table the notes live in.
inline constexpr const char* kNotesTable = "notes";

/// What save_within() throws when the database has not answered in time.
class Timeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The service under test. Database errors (mockdb::DatabaseError) reach the
/// caller unchanged from every operation: none is swallowed.
class NoteService {
 public:
  virtual ~NoteService() = default;

  /// Saves a new note titled `title` and returns its id, once it is written.
  virtual boost::asio::awaitable<mockdb::Id> save(std::string title) = 0;

  /// The title of note `id` as the database holds it now, or std::nullopt if
  /// there is no such note.
  virtual boost::asio::awaitable<std::optional<std::string>> title(mockdb::Id id) = 0;

  /// Renames note `id`. Returns false if there is no such note.
  virtual boost::asio::awaitable<bool> rename(mockdb::Id id, std::string title) = 0;

  /// Adds one like to note `id`. Any number of like() calls may run at once:
  /// each of them counts.
  virtual boost::asio::awaitable<void> like(mockdb::Id id) = 0;

  /// How many likes note `id` has: 0 when no note has been liked yet, for the
  /// likes table does not exist until the first like (the database's
  /// no_such_table is that answer here, not an error). Every other database
  /// error reaches the caller.
  virtual boost::asio::awaitable<std::int64_t> likes(mockdb::Id id) = 0;

  /// save(), with a deadline: if the database has not answered within
  /// `deadline` (counted from the call, in workbook::Clock time), the write is
  /// cancelled (nothing is saved, nothing is left running) and Timeout is
  /// thrown. An answer before the deadline is returned as save() returns it.
  virtual boost::asio::awaitable<mockdb::Id> save_within(std::string title,
                                                         workbook::Clock::duration deadline) = 0;
};

/// What one test gets: its own event loop, database and service, in virtual
/// time (workbook::Clock::now() is simulated time; the wall clock measures only
/// how fast the simulation ran). Nothing runs until the test runs `ctx`, for
/// instance with workbook::run_to_completion(ctx, task).
struct Fixture {
  /// A fresh fixture whose `notes` is the service `make` builds on `db`. (The
  /// runner makes the fixtures; the services it builds them with are not in
  /// this header.)
  explicit Fixture(
      const std::function<std::unique_ptr<NoteService>(mockdb::DatabaseService&)>& make);

  workbook::VirtualTime virtual_time;    ///< On from before the database is made.
  mockdb::MockDatabase db;               ///< Faults, latency, stats() and peek() are yours.
  std::unique_ptr<NoteService> service;  ///< Owns what `notes` refers to.
  boost::asio::io_context ctx;           ///< Destroyed first: no coroutine outlives `db`.
  NoteService& notes;                    ///< The service under test.
};

/// One test of yours: a name for reports, and the function that runs it.
struct NamedTest {
  std::string name;
  std::function<void(Fixture&)> run;
};

/// The tests register_tests() adds.
class TestList {
 public:
  /// Adds test `run`, reported as `name`.
  void add(std::string name, std::function<void(Fixture&)> run) {
    tests_.push_back({std::move(name), std::move(run)});
  }
  /// The tests, in the order added.
  const std::vector<NamedTest>& tests() const noexcept { return tests_; }

 private:
  std::vector<NamedTest> tests_;
};

/// The exercise: adds your tests of NoteService to `tests`
/// (note_service_tests.cpp).
void register_tests(TestList& tests);

}  // namespace ch15
