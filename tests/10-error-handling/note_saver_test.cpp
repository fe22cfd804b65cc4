// Chapter 10's test, built against the pitfall and against the fix.
//
// It judges start_save() by what its caller relies on: every save ends in
// exactly one report to the caller's SaveReporter; a database failure is
// reported, says which note and whose was being saved, and still carries the
// database's error code (a retry predicate tests it) with the database's own
// exception nested inside; a failure that is not the database's (a bug's
// std::logic_error) is reported too; nothing escapes the event loop; saves
// overlap; and a title reaches the database only as a parameter, never in the
// SQL text, and is stored as typed. Faults are injected with the mock's
// fail_next(), or by a faulty layer over it, in virtual time. The pitfall
// reports saved and refused edits correctly and drops every failure.
// tests/10-error-handling/wrong-fixes/ holds the plausible wrong fixes this
// test must reject.
#include "note_saver.hpp"

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/core/demangle.hpp>
#include <boost/json/value.hpp>
#include <boost/system/system_error.hpp>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "mockdb/errors.hpp"
#include "mockdb/mock_database.hpp"
#include "workbook/clock.hpp"
#include "workbook/run.hpp"
#include "workbook/trace.hpp"
#include "workbook/watchdog.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ch10::Edit;
using ch10::Refusal;

namespace {

constexpr mockdb::Id kUser = 7;
constexpr mockdb::Id kOtherUser = 3;
// Notes 1 to 41 are user 3's; notes 42 to 49 are user 7's, titled "note 42" ...
constexpr mockdb::Id kFirstOwn = 42;
constexpr mockdb::Id kLastOwn = 49;
constexpr auto kLatency = 5ms;

// One call of the reporter.
struct Report {
  enum Kind { saved, refused, failed } kind;
  Edit edit;
  Refusal why = Refusal::no_such_note;
  std::exception_ptr error;
};

class Recorder final : public ch10::SaveReporter {
 public:
  void saved(const Edit& edit) override { reports.push_back({Report::saved, edit, {}, nullptr}); }
  void refused(const Edit& edit, Refusal why) override {
    reports.push_back({Report::refused, edit, why, nullptr});
  }
  void failed(const Edit& edit, std::exception_ptr error) override {
    reports.push_back({Report::failed, edit, {}, std::move(error)});
  }

  // The reports about one note.
  std::vector<Report> about(mockdb::Id note) const {
    std::vector<Report> found;
    for (const Report& r : reports) {
      if (r.edit.note == note) found.push_back(r);
    }
    return found;
  }

  std::vector<Report> reports;
};

// "saving note 42 for user 7", as the messages below name a save.
std::string save_of(const Edit& edit) {
  return "saving note " + std::to_string(edit.note) + " for user " + std::to_string(edit.user);
}

std::string what_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "(an exception that is not a std::exception)";
  }
}

// The reported error's code, if it is a boost::system::system_error.
std::optional<boost::system::error_code> code_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const boost::system::system_error& e) {
    return e.code();
  } catch (...) {
    return std::nullopt;
  }
}

// What std::rethrow_if_nested finds inside the reported error: the nested
// database error's code, or a description of what it found instead.
struct Nested {
  std::optional<boost::system::error_code> database_code;
  std::string found;
  // A std::nested_exception that holds nothing: std::throw_with_nested was
  // called where there was no exception being handled.
  bool empty = false;
};

// The std::nested_exception part of `outer`, if it has one.
const std::nested_exception* nest_of(const std::exception& outer) {
  return dynamic_cast<const std::nested_exception*>(&outer);
}

Nested nested_in(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& outer) {
    const std::nested_exception* const nest = nest_of(outer);
    if (nest == nullptr) return {std::nullopt, "nothing"};
    // rethrow_nested() on a null nested_ptr() calls std::terminate: look first.
    if (!nest->nested_ptr()) {
      return {std::nullopt, "a std::nested_exception with nothing inside (a null nested_ptr())",
              true};
    }
    try {
      nest->rethrow_nested();
    } catch (const mockdb::DatabaseError& inner) {
      return {inner.code(), "a mockdb::DatabaseError"};
    } catch (const std::exception& inner) {
      return {std::nullopt, std::string("an exception that is not a mockdb::DatabaseError (\"") +
                                inner.what() + "\")"};
    } catch (...) {
      return {std::nullopt, "an exception that is not a std::exception"};
    }
    return {std::nullopt, "nothing"};
  } catch (...) {
    return {std::nullopt, "nothing"};
  }
}

// The name of an exception's dynamic type ("std::bad_alloc").
std::string type_of(const std::exception& e) { return boost::core::demangle(typeid(e).name()); }

// Whether `error` is, or nests (at any depth), a std::logic_error saying `what`.
bool carries_logic_error(const std::exception_ptr& error, const std::string& what) {
  try {
    std::rethrow_exception(error);
  } catch (const std::logic_error& e) {
    if (e.what() == what) return true;
    const std::nested_exception* const nest = nest_of(e);
    return nest != nullptr && nest->nested_ptr() && carries_logic_error(nest->nested_ptr(), what);
  } catch (const std::exception& e) {
    const std::nested_exception* const nest = nest_of(e);
    return nest != nullptr && nest->nested_ptr() && carries_logic_error(nest->nested_ptr(), what);
  } catch (...) {
    return false;
  }
}

// Whether `text` names `word` followed closely by `number` ("note 42",
// "note #42", "Note: 42"), not by a longer number ("note 420").
bool names(const std::string& text, const std::string& word, mockdb::Id number) {
  const std::regex pattern("\\b" + word + "\\D{0,5}" + std::to_string(number) + "(?!\\d)",
                           std::regex::ECMAScript | std::regex::icase);
  return std::regex_search(text, pattern);
}

// A layer over the database with a bug: its update() throws a std::logic_error,
// as a bug in a driver, a cache or an ORM does, instead of a database error.
class FaultyLayer final : public mockdb::DatabaseService {
 public:
  static constexpr const char* kBug = "FaultyLayer::update: invariant violated (a bug)";

  explicit FaultyLayer(mockdb::DatabaseService& db) : db_(db) {}

  asio::awaitable<mockdb::Id> create(std::string table, mockdb::Row row) override {
    return db_.create(std::move(table), std::move(row));
  }
  asio::awaitable<std::optional<mockdb::Row>> read(std::string table, mockdb::Id id) override {
    return db_.read(std::move(table), id);
  }
  asio::awaitable<bool> update(std::string /*table*/, mockdb::Id /*id*/,
                               mockdb::Row /*fields*/) override {
    throw std::logic_error(kBug);
    co_return false;  // makes update() a coroutine: the bug strikes when it is awaited
  }
  asio::awaitable<bool> remove(std::string table, mockdb::Id id) override {
    return db_.remove(std::move(table), id);
  }
  asio::awaitable<mockdb::Rows> query(std::string sql, mockdb::Params params) override {
    return db_.query(std::move(sql), std::move(params));
  }
  asio::awaitable<std::unique_ptr<mockdb::Connection>> connect() override { return db_.connect(); }

 private:
  mockdb::DatabaseService& db_;
};

std::string describe(const Report& r) {
  switch (r.kind) {
    case Report::saved:
      return "saved()";
    case Report::refused:
      return std::string("refused(") + ch10::to_string(r.why) + ")";
    case Report::failed:
      // A null exception_ptr must not be rethrown (undefined behaviour): say so instead.
      if (!r.error) return "failed() with a null exception_ptr, for a save that did not fail";
      return "failed(\"" + what_of(r.error) + "\")";
  }
  return "?";
}

std::string describe(const std::vector<Report>& reports) {
  std::string text;
  for (const Report& r : reports) text += (text.empty() ? "" : ", ") + describe(r);
  return text;
}

asio::awaitable<void> seed(mockdb::DatabaseService& db) {
  for (mockdb::Id id = 1; id <= kLastOwn; ++id) {
    mockdb::Row row;
    row["owner"] = id < kFirstOwn ? kOtherUser : kUser;
    row["title"] = "note " + std::to_string(id);
    row["body"] = "text";
    co_await db.create(ch10::kNotesTable, std::move(row));
  }
}

class NoteSaverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    workbook::run_to_completion(ctx, seed(db), "seeding the notes");
    db.set_latency(mockdb::Latency::fixed(kLatency));
    db.reset_stats();
  }

  Edit edit_of(mockdb::Id note, std::string title) const {
    return Edit{.note = note, .user = kUser, .title = std::move(title), .body = "new text"};
  }

  void start(const Edit& edit) { ch10::start_save(ctx.get_executor(), db, edit, reporter); }
  void start_on(mockdb::DatabaseService& service, const Edit& edit) {
    ch10::start_save(ctx.get_executor(), service, edit, reporter);
  }

  // Runs the loop until every save has ended. An exception out of the loop is
  // a failure of its own: it stops everything else running on the loop.
  void run_saves() {
    std::ostringstream log;
    std::streambuf* const real_cerr = std::cerr.rdbuf(log.rdbuf());
    for (int attempt = 0; attempt < 20; ++attempt) {
      try {
        workbook::run_until_idle(ctx);
        break;
      } catch (const boost::system::system_error& e) {
        escaped.push_back({e.what(), type_of(e), true});
      } catch (const std::exception& e) {
        escaped.push_back({e.what(), type_of(e), false});
      } catch (...) {
        escaped.push_back({"", "an exception that is not a std::exception", false});
      }
    }
    std::cerr.rdbuf(real_cerr);
    cerr_text += log.str();
    for (const Escaped& e : escaped) {
      const std::string threw = e.type + " (\"" + e.what + "\")";
      if (e.database) {
        ADD_FAILURE() << "a failure escaped the event loop: io_context::run() threw " << threw
                      << ", a database failure. Expected it to reach the caller's reporter: an "
                         "exception out of a completion handler unwinds run() itself, so every "
                         "other save and request on this loop stops with it, and whoever runs "
                         "the loop, not the caller, gets an error it cannot place. Pass the "
                         "exception_ptr to reporter.failed() instead of rethrowing it.";
      } else {
        // Not a database error rethrown: code that ran on the loop threw it.
        ADD_FAILURE() << "a failure escaped the event loop: io_context::run() threw " << threw
                      << ", which is not a database error: code that ran on the loop (a "
                         "completion handler, or the reporter it called) threw it. Expected "
                         "nothing to leave run(), every failure reaching reporter.failed(). A "
                         "std::bad_alloc or garbage there usually means a handler read something "
                         "that no longer exists: a handler that captures by reference ([&]) "
                         "start_save()'s parameters, such as the edit (moved from, then "
                         "destroyed when start_save() returned), reads a dead object when it "
                         "runs later: a handler's captures must own what they use (capture the "
                         "edit by value).";
      }
    }
  }

  // Checks that the save of `edit`, whose database operation failed, was
  // reported failed, exactly once; returns the error, or null.
  std::exception_ptr expect_reported_failure(const Edit& edit, const std::string& fault) {
    const std::vector<Report> reports = reporter.about(edit.note);
    const mockdb::Stats stats = db.stats();
    if (reports.empty()) {
      // What to do depends on where the failure went instead.
      std::string instead =
          " co_spawn(..., detached) discards the coroutine's exception_ptr (its handler ignores "
          "every argument); give co_spawn a completion handler that passes it to "
          "reporter.failed().";
      if (!escaped.empty() && escaped.front().database) {
        instead = " It escaped the event loop instead (see above): pass it to reporter.failed().";
      } else if (!escaped.empty()) {
        instead =
            " Something else escaped the event loop instead (see above), before the "
            "report was made.";
      } else if (!cerr_text.empty()) {
        instead = " It was written to std::cerr instead (\"" + cerr_text.substr(0, 200) +
                  "\"): a log line is not a report, the caller who started the save never "
                  "learns of it. Pass it to reporter.failed().";
      }
      ADD_FAILURE() << "failure was swallowed: " << save_of(edit) << " failed in the database ("
                    << stats.total.failed << " operation failed: " << fault
                    << ") and the reporter heard nothing: no saved(), refused() or failed() "
                       "call. Expected one failed() call with the error."
                    << instead;
      return nullptr;
    }
    if (reports.size() != 1) {
      ADD_FAILURE() << save_of(edit) << " was reported " << reports.size()
                    << " times: " << describe(reports)
                    << ". Expected exactly one report per save: a caller that counts or "
                       "retries failures would act twice.";
    }
    if (reports.front().kind != Report::failed || !reports.front().error) {
      ADD_FAILURE() << save_of(edit) << " was reported as " << describe(reports.front())
                    << ", but its database operation failed (" << fault
                    << "). Expected failed() with the error.";
      return nullptr;
    }
    return reports.front().error;
  }

  // Checks what a reported failure says and carries.
  void expect_context(const Edit& edit, const std::exception_ptr& error,
                      mockdb::ErrorClass expected_class, const std::string& database_says) {
    const std::string what = what_of(error);
    // A message that begins with the database's own has had no context added.
    const bool bare = what.find(database_says) < 10;
    // Any phrasing will do, as long as each number stands next to its word:
    // "note 42 for user 7", "user 7's note #42".
    EXPECT_TRUE(names(what, "note", edit.note) && names(what, "user", edit.user))
        << "error lacks context: the failure of " << save_of(edit) << " was reported as \"" << what
        << "\", which does not name both the note and the user, each as its word followed by its "
        << "number (note " << edit.note << ", user " << edit.user << ")"
        << (bare ? ": it is the database's message alone, with nothing added on its way out" : "")
        << ". Expected what() to say what was being done, e.g. \"" << save_of(edit) << ": "
        << database_says
        << " ...\": whoever reads it must know which save failed without the code at hand.";
    EXPECT_NE(what.find(database_says), std::string::npos)
        << "the failure of " << save_of(edit) << " was reported as \"" << what
        << "\", which lost what the database said (\"" << database_says
        << "\"). Expected the context followed by the database's own message.";

    const std::optional<boost::system::error_code> code = code_of(error);
    const Nested nested = nested_in(error);
    if (!code && nested.database_code) {
      ADD_FAILURE() << "the reported error hides the database's error code in its nest: the "
                       "failure of "
                    << save_of(edit) << " (\"" << what
                    << "\") is not a boost::system::system_error; the code is one "
                       "std::rethrow_if_nested away, but a retry predicate that catches "
                       "boost::system::system_error and tests mockdb::is_transient(e.code()), "
                       "as every caller of the database does, never sees it. Expected the "
                       "outer error to be a system_error with the database's code: "
                       "std::throw_with_nested(boost::system::system_error(original.code(), "
                       "context)).";
    } else if (!code) {
      ADD_FAILURE() << "the reported error lost the database's error code: the failure of "
                    << save_of(edit) << " (\"" << what
                    << "\") is not a boost::system::system_error, so a retry predicate such as "
                       "mockdb::is_transient(e.code()), or a test against mockdb::ErrorClass, "
                       "cannot see what failed. Expected a system_error with the database's "
                       "code: throw boost::system::system_error(original.code(), context), "
                       "nested with std::throw_with_nested.";
    } else {
      EXPECT_TRUE(*code == expected_class)
          << "the reported error of " << save_of(edit) << " has the code " << code->to_string()
          << " (\"" << code->message() << "\"), which does not compare equal to the "
          << "database's error class; expected the database's own code, so that "
             "mockdb::is_transient() and ErrorClass comparisons keep working.";
    }

    if (nested.empty) {
      ADD_FAILURE() << "the reported error of " << save_of(edit) << " (\"" << what
                    << "\") does not nest the database's own exception (throw_with_nested must "
                       "be called inside the catch block): it is a std::nested_exception whose "
                       "nested_ptr() is null. std::throw_with_nested nests "
                       "std::current_exception(), the exception being handled, and after the "
                       "catch block there is none; a caller's std::rethrow_if_nested on it "
                       "calls std::terminate. Expected the mockdb::DatabaseError inside it: "
                       "call std::throw_with_nested in the catch block itself (a catch block "
                       "in a coroutine may throw; it may not co_await).";
      return;
    }
    EXPECT_TRUE(!code || (nested.database_code.has_value() && *nested.database_code == *code))
        << "the reported error of " << save_of(edit) << " does not nest the database's own "
        << "exception: std::rethrow_if_nested found " << nested.found
        << ". Expected the mockdb::DatabaseError inside it, with the same code, so that a "
           "caller can still reach the server's diagnostics (its SQLSTATE and message). "
           "Throw the context with std::throw_with_nested, or an error type that derives "
           "from std::nested_exception.";
  }

  // Checks that no statement the database received (its trace keeps each
  // query's SQL text) spells one of these titles: as typed, or with its quotes
  // doubled or backslashed, as hand-made escaping writes them.
  void expect_titles_only_in_parameters(const std::vector<Edit>& edits) {
    const auto escaped_as = [](const std::string& title, const std::string& quote) {
      std::string out;
      for (const char c : title) out += c == '\'' ? quote : std::string(1, c);
      return out;
    };
    for (const workbook::Span& span : db.trace().spans()) {
      if (span.operation != "query") continue;
      for (const Edit& edit : edits) {
        const bool spelled = span.key.find(edit.title) != std::string::npos ||
                             span.key.find(escaped_as(edit.title, "''")) != std::string::npos ||
                             span.key.find(escaped_as(edit.title, "\\'")) != std::string::npos;
        if (!spelled) continue;
        ADD_FAILURE()
            << "the title became part of the SQL text: " << save_of(edit) << " with the title \""
            << edit.title << "\" sent the database the query \"" << span.key
            << "\". Expected the title only among the query's parameters, never in its text: "
               "quoting or escaping it by hand (doubling its quotes) is the habit that lets "
               "the one forgotten place through, and what is in the text is parsed as SQL. "
               "Pass it as a $n parameter (\"... AND title = $2\" with the title in "
               "mockdb::Params), which the database never parses.";
        return;  // one message is enough
      }
    }
  }

  workbook::VirtualTime time;
  asio::io_context ctx;
  mockdb::MockDatabase db;
  Recorder reporter;
  // What io_context::run() threw: what(), its type, whether a database failure.
  struct Escaped {
    std::string what;
    std::string type;
    bool database = false;
  };
  std::vector<Escaped> escaped;
  std::string cerr_text;
  workbook::Watchdog watchdog{10s, "a chapter 10 test"};
};

TEST_F(NoteSaverTest, AFailedSaveIsReported) {
  const Edit edit = edit_of(kFirstOwn, "Shopping list");
  db.fail_next(1, mockdb::Errc::connection_reset, mockdb::OpKind::update);
  start(edit);
  run_saves();
  expect_reported_failure(edit, "connection reset");
}

TEST_F(NoteSaverTest, AFailureSaysWhatWasBeingDone) {
  const Edit edit = edit_of(kFirstOwn, "Shopping list");
  db.fail_next(1, mockdb::Errc::connection_reset, mockdb::OpKind::update);
  start(edit);
  run_saves();
  const std::exception_ptr error = expect_reported_failure(edit, "connection reset");
  if (error) {
    expect_context(edit, error, mockdb::ErrorClass::connection_failure, "connection reset");
    const std::optional<boost::system::error_code> code = code_of(error);
    EXPECT_TRUE(code && mockdb::is_transient(*code))
        << "a connection reset was reported with an error that mockdb::is_transient() does not "
           "call transient: a retry predicate would give up on a save worth retrying.";
  }
}

TEST_F(NoteSaverTest, AFailedDuplicateCheckIsReportedWithContext) {
  const Edit edit = edit_of(kFirstOwn + 1, "Packing list");
  db.fail_next(1, mockdb::Errc::unavailable, mockdb::OpKind::query);
  start(edit);
  run_saves();
  const std::exception_ptr error = expect_reported_failure(edit, "database unavailable");
  if (error) expect_context(edit, error, mockdb::ErrorClass::unavailable, "unavailable");
}

// The interface promises one report for every save, whatever failed: a bug's
// std::logic_error or a std::bad_alloc reaches failed() as well as a database
// error does, even though only a database error gets context.
TEST_F(NoteSaverTest, AFailureThatIsNotTheDatabasesIsReportedToo) {
  FaultyLayer faulty(db);
  const Edit edit = edit_of(kFirstOwn, "Shopping list");
  start_on(faulty, edit);
  run_saves();
  const std::vector<Report> reports = reporter.about(edit.note);
  const std::string thrown = std::string("std::logic_error (\"") + FaultyLayer::kBug + "\")";
  if (reports.empty()) {
    std::string instead;
    if (!escaped.empty()) {
      instead = " It escaped the event loop instead (see above).";
    } else if (!cerr_text.empty()) {
      instead = " It was written to std::cerr instead (\"" + cerr_text.substr(0, 200) +
                "\"): a log line is not a report.";
    }
    ADD_FAILURE() << "failure was swallowed: " << save_of(edit) << " failed with a " << thrown
                  << ", not a database error, and the reporter heard nothing: no saved(), "
                     "refused() or failed() call. Expected one failed() call carrying the "
                     "std::logic_error: the caller must hear of every failed save, not only of "
                     "the database's. A catch, or a completion handler, that passes on only "
                     "boost::system::system_error drops a bug's std::logic_error or a "
                     "std::bad_alloc without a trace, and so does co_spawn(..., detached) "
                     "after a coroutine that reports only the failures it catches. Pass every "
                     "non-null exception_ptr to reporter.failed()."
                  << instead;
    return;
  }
  EXPECT_TRUE(reports.size() == 1 && reports.front().kind == Report::failed &&
              reports.front().error &&
              carries_logic_error(reports.front().error, FaultyLayer::kBug))
      << save_of(edit) << " failed with a " << thrown << " and was reported as ["
      << describe(reports)
      << "]; expected exactly one failed() call carrying that std::logic_error (as it is, or "
         "nested inside an error that adds context).";
}

TEST_F(NoteSaverTest, ExpectedOutcomesAreReportedOnceAndNotAsFailures) {
  const Edit saved = edit_of(kFirstOwn, "Shopping list");
  const Edit missing = edit_of(999, "Lost note");
  const Edit duplicate = edit_of(kFirstOwn + 1, "note 45");  // note 45's title
  start(saved);
  start(missing);
  start(duplicate);
  run_saves();

  const auto expect_one = [&](const Edit& edit, const std::string& expected) {
    const std::vector<Report> reports = reporter.about(edit.note);
    EXPECT_TRUE(reports.size() == 1 && describe(reports.front()) == expected)
        << save_of(edit) << " was reported as [" << describe(reports) << "]; expected exactly "
        << expected << ".";
  };
  expect_one(saved, "saved()");
  expect_one(missing, "refused(no such note)");
  expect_one(duplicate, "refused(duplicate title)");
  const std::optional<mockdb::Row> stored = db.peek(ch10::kNotesTable, kFirstOwn);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(std::string(stored->at("title").as_string()), saved.title)
      << "note 42 was reported saved, but the database holds another title.";
  const std::optional<mockdb::Row> untouched = db.peek(ch10::kNotesTable, kFirstOwn + 1);
  ASSERT_TRUE(untouched.has_value());
  EXPECT_EQ(std::string(untouched->at("title").as_string()), "note 43")
      << "note 43's edit was refused as a duplicate title, yet the note was changed.";
}

TEST_F(NoteSaverTest, SavesRunConcurrently) {
  const workbook::Clock::time_point start_time = workbook::Clock::now();
  for (mockdb::Id note = kFirstOwn; note <= kLastOwn; ++note) {
    start(edit_of(note, "edited " + std::to_string(note)));
  }
  run_saves();
  const auto took = workbook::Clock::now() - start_time;
  const auto saves = static_cast<std::size_t>(kLastOwn - kFirstOwn + 1);
  EXPECT_EQ(reporter.reports.size(), saves)
      << saves << " saves started, " << reporter.reports.size() << " reported.";
  // Each save is two operations of 5 ms: a query, then an update.
  EXPECT_LE(took, 2 * kLatency)
      << saves << " saves took " << workbook::to_ms(took) << " ms of virtual time, with at most "
      << db.stats().total.max_in_flight
      << " database operations in flight; start_save() promises that saves started together "
         "run concurrently: expected at most "
      << workbook::to_ms(2 * kLatency) << " ms (two operations of 5 ms each, overlapping).";
}

TEST_F(NoteSaverTest, HostileTitlesAreStoredVerbatim) {
  const std::vector<std::string> titles = {
      "x'); DELETE FROM notes; --",
      "x'; DELETE FROM notes; --",
      "O'Brien's \"list\" costs $1, not $2",
      "' AND owner != '0",
  };
  const std::size_t notes_before = db.count(ch10::kNotesTable);
  mockdb::Id note = kFirstOwn + 2;
  std::vector<Edit> edits;
  edits.reserve(titles.size());
  for (const std::string& title : titles) edits.push_back(edit_of(note++, title));
  for (const Edit& edit : edits) start(edit);
  run_saves();

  for (const Edit& edit : edits) {
    const std::vector<Report> reports = reporter.about(edit.note);
    ASSERT_TRUE(reports.size() == 1 && reports.front().kind == Report::saved)
        << save_of(edit) << " with the title \"" << edit.title << "\" was reported as ["
        << describe(reports)
        << "]; expected saved(), the title stored as typed. A title formatted into the SQL "
           "text becomes SQL (here a quote ends the string literal): pass it as a $n "
           "parameter, which the database never parses.";
    const std::optional<mockdb::Row> stored = db.peek(ch10::kNotesTable, edit.note);
    ASSERT_TRUE(stored.has_value()) << "note " << edit.note << " is gone from the database.";
    EXPECT_EQ(std::string(stored->at("title").as_string()), edit.title)
        << "note " << edit.note << "'s title was not stored verbatim.";
  }
  EXPECT_EQ(db.count(ch10::kNotesTable), notes_before)
      << "saving titles that contain SQL changed the number of notes.";
  expect_titles_only_in_parameters(edits);

  // The duplicate check must match the exact text, quotes and all.
  const Edit copy = edit_of(kFirstOwn, titles.front());
  start(copy);
  run_saves();
  const std::vector<Report> reports = reporter.about(copy.note);
  EXPECT_TRUE(reports.size() == 1 && reports.front().kind == Report::refused &&
              reports.front().why == Refusal::duplicate_title)
      << "note 42 was given the title of note 44, \"" << titles.front() << "\", and reported ["
      << describe(reports)
      << "]; expected refused(duplicate title): the duplicate check must compare the exact "
         "text the user typed, bound as a parameter.";
}

}  // namespace
