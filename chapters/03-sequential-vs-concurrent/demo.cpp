// Chapter 03's demo: one page reads eight notes of 20 ms each. Built twice, as
// ch03_demo_pitfall and ch03_demo_fix, it draws the database's own trace of
// the reads (a staircase, or bars side by side) and says how long they took
// and how many were in flight at once.
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "note_reader.hpp"
#include "workbook/clock.hpp"
#include "workbook/measured.hpp"
#include "workbook/run.hpp"
#include "workbook/timeline.hpp"
#include "workbook/variant.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

void demo() {
  constexpr int kNotes = 8;
  constexpr auto kLatency = 20ms;
  asio::io_context ctx;
  mockdb::MockDatabase db;
  workbook::run_to_completion(ctx, ch03::add_sample_notes(db, kNotes));
  db.set_latency(mockdb::OpKind::read, mockdb::Latency::fixed(kLatency));
  db.trace().clear();  // draw the reads only

  std::vector<mockdb::Id> ids;
  for (mockdb::Id id = 1; id <= kNotes; ++id) ids.push_back(id);
  const auto start = workbook::Clock::now();
  const auto notes = workbook::run_to_completion(ctx, ch03::read_notes(db, ids));
  const auto took = workbook::Clock::now() - start;

  workbook::TimelineOptions options;
  options.title = std::string("Chapter 03, ") + workbook::variant_name() + ": read_notes() of " +
                  std::to_string(kNotes) + " notes, 20 ms per read";
  std::cout << workbook::render_timeline(db.trace().spans(), options);

  int found = 0;
  for (const auto& n : notes) found += n.note ? 1 : 0;
  std::printf(
      "%d of %d notes read in %.0f ms, with at most %zu in flight "
      "(one after another: %d x 20 ms = %d ms)\n",
      found, kNotes, workbook::to_ms(took), db.stats()[mockdb::OpKind::read].max_in_flight, kNotes,
      kNotes * 20);
  workbook::print_measured("read_time", workbook::to_ms(took), "ms");
}

}  // namespace

int main() { return workbook::run_demo("the chapter 03 demo", demo); }
