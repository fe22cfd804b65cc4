// Chapter 04's demo: a notes service saves one note, then a batch of eight,
// then a batch of four in which one write fails. Built twice, as
// ch04_demo_pitfall and ch04_demo_fix, it prints what the handlers reported,
// what the database holds, and a timeline of the handler (its own span) and of
// every database operation that actually ran.
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "note_service.hpp"
#include "workbook/measured.hpp"
#include "workbook/run.hpp"
#include "workbook/timeline.hpp"
#include "workbook/variant.hpp"
#include "workbook/watchdog.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// The handler's span first, then the database operations that ran.
void draw(const workbook::Trace& handler, mockdb::MockDatabase& db, std::string title) {
  std::vector<workbook::Span> spans = handler.spans();
  for (auto& s : db.trace().spans()) spans.push_back(std::move(s));
  workbook::TimelineOptions options;
  options.title = std::move(title);
  std::cout << workbook::render_timeline(spans, options);
}

std::size_t saved_count(const std::vector<ch04::SaveResult>& results) {
  std::size_t saved = 0;
  for (const auto& r : results) saved += r.saved ? 1 : 0;
  return saved;
}

void demo() {
  asio::io_context ctx;
  mockdb::MockDatabase db{mockdb::MockConfig{.operation_latency = mockdb::Latency::fixed(20ms)}};
  workbook::Watchdog watchdog{10s, "the chapter 04 demo"};
  const std::string variant = workbook::variant_name();

  // 1. One note.
  {
    workbook::Trace handler{"handler"};
    const auto span = handler.begin("save_note", "Shopping list");
    const ch04::SaveResult result =
        workbook::run_to_completion(ctx, ch04::save_note(db, "Shopping list", "milk, eggs"));
    handler.end(span, workbook::Outcome::ok);
    workbook::run_until_idle(ctx);  // let anything left on the loop run
    draw(handler, db, "Chapter 04, " + variant + ": save_note(\"Shopping list\")");
    std::printf("save_note reported: %s, id %lld\n", result.saved ? "saved" : "not saved",
                static_cast<long long>(result.id));
    std::printf("create operations the database saw: %llu\n",
                static_cast<unsigned long long>(db.stats()[mockdb::OpKind::create].started));
    const std::size_t notes = db.count(ch04::kNotesTable);
    std::printf("notes in the database: %zu (%s)\n\n", notes,
                notes == 1 ? "the note is there" : "the note was never written");
  }

  // 2. A batch of eight notes, written concurrently.
  db.trace().clear();
  const std::size_t before = db.count(ch04::kNotesTable);
  std::vector<ch04::Draft> drafts;
  for (int i = 1; i <= 8; ++i) drafts.push_back({"note " + std::to_string(i), "text"});
  workbook::Trace handler{"handler"};
  const auto span = handler.begin("save_notes", "8 drafts");
  const auto results = workbook::run_to_completion(ctx, ch04::save_notes(db, drafts));
  handler.end(span, workbook::Outcome::ok);
  const std::size_t at_return = db.count(ch04::kNotesTable) - before;
  workbook::run_until_idle(ctx);
  const std::size_t at_idle = db.count(ch04::kNotesTable) - before;
  draw(handler, db, "Chapter 04, " + variant + ": save_notes(8 drafts)");
  std::printf("save_notes reported: %zu of 8 saved\n", saved_count(results));
  std::printf("new notes in the database when save_notes returned: %zu\n", at_return);
  std::printf(
      "new notes once the event loop had nothing left to run: %zu%s\n\n", at_idle,
      at_idle > at_return ? " (written after success was reported; no one awaited them)" : "");

  // 3. A batch of four whose first write fails: what does the caller learn?
  db.trace().clear();
  const std::size_t before_failure = db.count(ch04::kNotesTable);
  db.fail_next(1, mockdb::Errc::connection_reset, mockdb::OpKind::create);
  std::vector<ch04::Draft> batch;
  for (int i = 1; i <= 4; ++i) batch.push_back({"todo " + std::to_string(i), "text"});
  std::vector<ch04::SaveResult> reported;
  try {
    reported = workbook::run_to_completion(ctx, ch04::save_notes(db, batch));
  } catch (const std::exception& e) {
    std::printf("save_notes threw: %s\n", e.what());
  }
  const std::size_t written = db.count(ch04::kNotesTable) - before_failure;
  workbook::run_until_idle(ctx);
  std::printf("save_notes(4 drafts), the first write failing: the caller was told\n");
  for (std::size_t i = 0; i < reported.size(); ++i) {
    const ch04::SaveResult& r = reported[i];
    if (r.saved) {
      std::printf("  %s: saved, id %lld\n", batch[i].title.c_str(), static_cast<long long>(r.id));
    } else {
      std::printf("  %s: not saved (%s)\n", batch[i].title.c_str(),
                  r.error ? r.error.message().c_str() : "no reason given");
    }
  }
  std::printf("new notes in the database when save_notes returned: %zu; once idle: %zu\n", written,
              db.count(ch04::kNotesTable) - before_failure);
  workbook::print_measured("saved_at_return", static_cast<double>(at_return), "notes");
}

}  // namespace

int main() { return workbook::run_demo("the chapter 04 demo", demo); }
