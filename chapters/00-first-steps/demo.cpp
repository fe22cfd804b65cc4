// Chapter 00's demo: a program saves three notes through an event loop.
// Built twice, as ch00_demo_pitfall and ch00_demo_fix, it calls save_notes()
// once and prints what came back, what the database saw, and the state of
// the io_context, with a timeline of the call (its own span) and of every
// database operation that actually ran. The pitfall's timeline has one bar:
// the call, which took no time, because nothing ran.
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

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

void demo() {
  // The database first: the io_context, destroyed first, may still hold
  // coroutines that use it.
  mockdb::MockDatabase db{mockdb::MockConfig{.operation_latency = mockdb::Latency::fixed(20ms)}};
  asio::io_context ctx;
  const std::vector<ch00::Note> notes{
      {"Groceries", "milk, eggs"}, {"Call", "the plumber"}, {"Idea", "a notes app"}};

  workbook::Trace call{"program"};
  const auto span = call.begin("save_notes", "3 notes");
  std::vector<mockdb::Id> ids;
  {
    workbook::Watchdog watchdog{5s, "the chapter 00 demo (save_notes of 3 notes)"};
    ids = ch00::save_notes(ctx, db, notes);
  }
  call.end(span, workbook::Outcome::ok);

  std::vector<workbook::Span> spans = call.spans();
  for (auto& s : db.trace().spans()) spans.push_back(std::move(s));
  workbook::TimelineOptions options;
  options.title = std::string("Chapter 00, ") + workbook::variant_name() +
                  ": save_notes(ctx, db, 3 notes), 20 ms per write";
  std::cout << workbook::render_timeline(spans, options);

  std::printf("save_notes returned the ids:");
  for (const mockdb::Id id : ids) std::printf(" %lld", static_cast<long long>(id));
  std::printf("\nwrites the database saw begin: %llu of 3\n",
              static_cast<unsigned long long>(db.stats()[mockdb::OpKind::create].started));
  const std::size_t held = db.count(ch00::kNotesTable);
  std::printf("notes in the database: %zu of 3 (%s)\n", held,
              held == 3 ? "every note is there" : "nothing happened: the writes never ran");
  std::printf("the io_context afterwards: %s\n",
              ctx.stopped() ? "stopped (a run() returned when it had no work left)"
                            : "not stopped (its run() was never called)");
  workbook::print_measured("notes_saved", static_cast<double>(held), "notes");
}

}  // namespace

int main() { return workbook::run_demo("the chapter 00 demo", demo); }
