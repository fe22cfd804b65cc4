// Chapter 05's demo: four requests read notes of 20 ms each, and the read of
// note 3 hangs. The service's timeout is 100 ms. Built twice, as
// ch05_demo_pitfall and ch05_demo_fix, it draws each request and the
// database's own operations. The fix answers note 3 with a timeout at 100 ms
// and its read is cancelled; the pitfall's request for note 3 is still
// waiting, with its read holding a connection, when the demo gives up on it
// after half a second of real time.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "mockdb/mock_database.hpp"
#include "note_service.hpp"
#include "workbook/clock.hpp"
#include "workbook/measured.hpp"
#include "workbook/run.hpp"
#include "workbook/timeline.hpp"
#include "workbook/trace.hpp"
#include "workbook/variant.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

void demo() {
  constexpr int kRequests = 4;
  constexpr mockdb::Id kHanging = 3;
  constexpr auto kGiveUp = 500ms;  // real time: the pitfall's request would wait for ever
  mockdb::MockDatabase db;
  asio::io_context ctx;  // after db: the pitfall's frames, left in ctx, go first
  workbook::run_to_completion(ctx, ch05::add_sample_notes(db, kRequests));
  db.trace().clear();  // draw the requests' reads only
  db.set_latency(mockdb::Latency::fixed(20ms));
  ch05::NoteService notes(db, 100ms);
  ctx.restart();  // run_to_completion let the loop run out of work, which stops it

  std::printf(
      "Chapter 05, %s: %d requests, reads of 20 ms, the read of note %lld hangs; "
      "timeout 100 ms\n",
      workbook::variant_name(), kRequests, static_cast<long long>(kHanging));
  std::fflush(stdout);

  workbook::Trace requests{"requests"};
  int finished = 0;
  // The reads are started in order, so the hang is planted just before the
  // request for note 3 starts its read.
  for (mockdb::Id id = 1; id <= kRequests; ++id) {
    if (id == kHanging) db.hang_next(1, mockdb::OpKind::read);
    const auto span = requests.begin("request", "note " + std::to_string(id));
    asio::co_spawn(ctx, notes.get_note(id),
                   [&requests, &finished, span, id](const std::exception_ptr& error,
                                                    const std::optional<mockdb::Row>&) {
                     ++finished;
                     if (!error) {
                       requests.end(span, workbook::Outcome::ok);
                       return;
                     }
                     try {
                       std::rethrow_exception(error);
                     } catch (const std::exception& e) {
                       std::printf("  request for note %lld failed: %s\n",
                                   static_cast<long long>(id), e.what());
                       requests.end(span, workbook::Outcome::failed, e.what());
                     }
                   });
    ctx.poll();  // let the request start its read before the next one is spawned
  }
  // Real time, so run the loop ourselves: run_to_completion would wait for
  // ever for the pitfall's hanging request.
  const auto deadline = std::chrono::steady_clock::now() + kGiveUp;
  while (finished < kRequests && std::chrono::steady_clock::now() < deadline) {
    ctx.run_for(10ms);
  }

  workbook::TimelineOptions options;
  options.title = "each request, from its call to its answer";
  std::cout << workbook::render_timeline(requests.spans(), options);
  options.title = "the database's reads";
  std::cout << workbook::render_timeline(db.trace().spans(), options);

  const mockdb::Stats stats = db.stats();
  if (finished < kRequests) {
    std::printf(
        "request never completed: %d of %d requests were still waiting after %.0f ms of real "
        "time (timeout 100 ms); %zu read(s) still in flight, holding %zu connection(s).\n"
        "Pending operations:\n%s",
        kRequests - finished, kRequests, workbook::to_ms(workbook::Clock::duration(kGiveUp)),
        stats[mockdb::OpKind::read].in_flight, stats.open_connections,
        workbook::Trace::describe_all_pending().c_str());
  } else {
    std::printf(
        "all %d requests answered; reads cancelled: %llu, still in flight: %zu, "
        "connections held: %zu\n",
        kRequests, static_cast<unsigned long long>(stats[mockdb::OpKind::read].cancelled),
        stats[mockdb::OpKind::read].in_flight, stats.open_connections);
  }
  workbook::print_measured("answered", finished, "requests");
}

}  // namespace

int main() { return workbook::run_demo("the chapter 05 demo", demo); }
