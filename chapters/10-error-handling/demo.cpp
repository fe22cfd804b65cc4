// Chapter 10's demo: an editor autosaves six edits of user 7's notes in the
// background. The database resets the connection under two of the updates;
// one edit is for a note that was deleted, one gives a note the title of
// another. Built twice, as ch10_demo_pitfall and ch10_demo_fix, it prints a
// timeline of the database operations, every report the caller's reporter
// received, and the count that matters: how many saves failed in the
// database, and how many failures the caller heard of.
#include <boost/asio/io_context.hpp>
#include <boost/system/system_error.hpp>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "mockdb/errors.hpp"
#include "mockdb/mock_database.hpp"
#include "note_saver.hpp"
#include "workbook/measured.hpp"
#include "workbook/run.hpp"
#include "workbook/timeline.hpp"
#include "workbook/variant.hpp"
#include "workbook/watchdog.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// The caller's reporter: prints each report as it arrives, and counts them.
class PrintingReporter final : public ch10::SaveReporter {
 public:
  void saved(const ch10::Edit& edit) override {
    std::printf("  note %lld: saved\n", static_cast<long long>(edit.note));
    ++reports;
  }
  void refused(const ch10::Edit& edit, ch10::Refusal why) override {
    std::printf("  note %lld: refused (%s)\n", static_cast<long long>(edit.note),
                ch10::to_string(why));
    ++reports;
  }
  void failed(const ch10::Edit& edit, std::exception_ptr error) override {
    // What a caller can do with the error: show it, test its code, reach the original.
    try {
      std::rethrow_exception(error);
    } catch (const boost::system::system_error& e) {
      std::printf("  note %lld: FAILED: %s\n", static_cast<long long>(edit.note), e.what());
      std::printf("           code %s, %s\n", e.code().to_string().c_str(),
                  mockdb::is_transient(e.code()) ? "transient: worth a retry" : "not transient");
      try {
        std::rethrow_if_nested(e);
      } catch (const mockdb::DatabaseError& original) {
        std::printf("           nested: the database's error, SQLSTATE %s\n",
                    original.diagnostics().sqlstate.c_str());
      }
    } catch (const std::exception& e) {
      std::printf("  note %lld: FAILED: %s\n", static_cast<long long>(edit.note), e.what());
    }
    ++reports;
    ++failures;
  }
  int reports = 0;
  int failures = 0;
};

// Notes 1 to 41 belong to user 3, notes 42 to 47 to user 7.
asio::awaitable<void> seed(mockdb::DatabaseService& db) {
  for (mockdb::Id id = 1; id <= 47; ++id) {
    mockdb::Row row;
    row["owner"] = id < 42 ? 3 : 7;
    row["title"] = "note " + std::to_string(id);
    row["body"] = "text";
    co_await db.create(ch10::kNotesTable, std::move(row));
  }
}

void demo() {
  asio::io_context ctx;
  mockdb::MockDatabase db;
  workbook::Watchdog watchdog{10s, "the chapter 10 demo"};
  workbook::run_to_completion(ctx, seed(db), "seeding the notes");
  db.set_latency(mockdb::Latency::fixed(20ms));
  db.trace().clear();
  db.reset_stats();

  const std::vector<ch10::Edit> edits = {
      {.note = 42, .user = 7, .title = "Shopping list", .body = "milk, eggs"},
      {.note = 43, .user = 7, .title = "Packing list", .body = "passport"},
      {.note = 44, .user = 7, .title = "Ideas", .body = "a workbook"},
      {.note = 45, .user = 7, .title = "Books", .body = "SICP"},
      {.note = 99, .user = 7, .title = "Deleted yesterday", .body = "gone"},
      {.note = 46, .user = 7, .title = "note 47", .body = "same title as note 47"},
  };
  // The database resets the connection under the first two updates.
  db.fail_next(2, mockdb::Errc::connection_reset, mockdb::OpKind::update);

  PrintingReporter reporter;
  std::printf("Chapter 10, %s: six autosaves started at once; what the reporter heard:\n",
              workbook::variant_name());
  for (const ch10::Edit& edit : edits) ch10::start_save(ctx.get_executor(), db, edit, reporter);
  workbook::run_until_idle(ctx);

  workbook::TimelineOptions options;
  options.title = std::string("Chapter 10, ") + workbook::variant_name() +
                  ": the database operations of six autosaves";
  std::cout << '\n' << workbook::render_timeline(db.trace().spans(), options);

  const mockdb::Stats stats = db.stats();
  std::printf("\nsaves started: %zu; reports the caller received: %d\n", edits.size(),
              reporter.reports);
  std::printf("database operations that failed: %llu; failures the caller heard of: %d\n",
              static_cast<unsigned long long>(stats.total.failed), reporter.failures);
  const long long swallowed = static_cast<long long>(stats.total.failed) - reporter.failures;
  if (swallowed > 0) {
    std::printf(
        "%lld save(s) failed, and nothing anywhere says so: co_spawn(..., detached) dropped "
        "the exception.\n",
        swallowed);
  }
  workbook::print_measured("failures_heard", reporter.failures, "failures");
}

}  // namespace

int main() { return workbook::run_demo("the chapter 10 demo", demo); }
