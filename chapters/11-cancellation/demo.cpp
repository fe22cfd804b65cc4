// Chapter 11's demo: four requests through a pool of 2 connections, reads of
// 20 ms hedged after 40 ms. Built twice, as ch11_demo_pitfall and
// ch11_demo_fix, it draws the database's trace (reads, connects and waits for
// a connection) and says, per request, when it ended and whether reads it
// started went on after it: the orphaned queries.
//
// At 0 ms request A reads note 1 and request B note 2; both first reads come
// from the long tail (400 ms). B's client goes away at 10 ms. At 100 ms
// requests C and D read notes 3 and 4.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/multiple_exceptions.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "note_service.hpp"
#include "workbook/clock.hpp"
#include "workbook/measured.hpp"
#include "workbook/run.hpp"
#include "workbook/timeline.hpp"
#include "workbook/timer.hpp"
#include "workbook/variant.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using workbook::Clock;

namespace {

constexpr auto kRead = 20ms;
constexpr auto kLongTail = 400ms;
constexpr auto kHedgeAfter = 40ms;

struct Request {
  std::string name;
  mockdb::Id note = 0;
  Clock::duration arrives{};
  std::optional<Clock::duration> client_leaves;  // after it arrived
  std::optional<Clock::time_point> ended;
  std::string how;
  asio::cancellation_signal client;
};

std::string what(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an unknown exception";
  }
}

asio::awaitable<void> serve(ch11::ConnectionPool& pool, Request& r) {
  co_await workbook::sleep_for(r.arrives);
  try {
    const auto note = co_await ch11::read_note(pool, r.note, kHedgeAfter);
    r.how = note ? "answered" : "found nothing";
  } catch (const asio::multiple_exceptions& e) {
    r.how = "ended: " + what(e.first_exception());  // both operands of || failed
  } catch (const std::exception& e) {
    r.how = std::string("ended: ") + e.what();
  }
  r.ended = Clock::now();
}

asio::awaitable<void> client_goes_away(Request& r) {
  co_await workbook::sleep_for(r.arrives + *r.client_leaves);
  if (!r.ended) r.client.emit(asio::cancellation_type::terminal);
}

void demo() {
  asio::io_context ctx;
  mockdb::MockDatabase db;
  workbook::run_to_completion(ctx, ch11::add_sample_notes(db, 4));
  ch11::ConnectionPool pool(ctx.get_executor(), db, 2, &db.trace());
  db.trace().clear();
  db.reset_stats();

  std::vector<std::unique_ptr<Request>> requests;
  auto add = [&](std::string name, mockdb::Id note, Clock::duration arrives,
                 std::optional<Clock::duration> leaves) {
    auto r = std::make_unique<Request>();
    r->name = std::move(name);
    r->note = note;
    r->arrives = arrives;
    r->client_leaves = leaves;
    requests.push_back(std::move(r));
  };
  add("A", 1, 0ms, std::nullopt);
  add("B", 2, 0ms, 10ms);
  add("C", 3, 100ms, std::nullopt);
  add("D", 4, 100ms, std::nullopt);

  // The first two reads come from the long tail; every later one takes 20 ms.
  db.set_latency(mockdb::OpKind::read, mockdb::Latency::fixed(kLongTail));
  const auto t0 = Clock::now();
  for (auto& r : requests) {
    asio::co_spawn(ctx, serve(pool, *r),
                   asio::bind_cancellation_slot(r->client.slot(), asio::detached));
    if (r->client_leaves) asio::co_spawn(ctx, client_goes_away(*r), asio::detached);
  }
  auto tail_ends = [&db]() -> asio::awaitable<void> {
    co_await workbook::sleep_for(5ms);
    db.set_latency(mockdb::OpKind::read, mockdb::Latency::fixed(kRead));
  };
  asio::co_spawn(ctx, tail_ends(), asio::detached);
  // Runs until every operation has ended, the orphans' included (about 0.5 s
  // for the pitfall: the last orphan ends when its long-tail read does).
  workbook::run_until_idle(ctx);

  workbook::TimelineOptions options;
  options.title = std::string("Chapter 11, ") + workbook::variant_name() +
                  ": 4 requests, pool of 2, reads of 20 ms hedged after 40 ms "
                  "(first two reads 400 ms; B's client leaves at 10 ms)";
  const auto spans = db.trace().spans();
  std::cout << workbook::render_timeline(spans, options);

  int orphans = 0;
  for (const auto& r : requests) {
    const double ended = r->ended ? workbook::to_ms(*r->ended - t0) : -1;
    int after = 0;
    double last = 0;
    const std::string key = std::string(ch11::kNotesTable) + "/" + std::to_string(r->note);
    for (const auto& s : spans) {
      if (s.operation != "read" || s.key != key || !s.end || !r->ended) continue;
      if (s.outcome == workbook::Outcome::ok && *s.end > *r->ended) {
        ++after;
        last = std::max(last, workbook::to_ms(*s.end - t0));
      }
    }
    orphans += after;
    std::printf("request %s (note %lld): %s at %.0f ms", r->name.c_str(),
                static_cast<long long>(r->note), r->how.c_str(), ended);
    if (r->client_leaves) {
      std::printf(" (its client left at %.0f ms)", workbook::to_ms(r->arrives + *r->client_leaves));
    }
    if (after > 0) {
      std::printf("; %d read(s) it started ran on until %.0f ms, for nobody", after, last);
    }
    std::printf("\n");
  }
  const auto stats = db.stats()[mockdb::OpKind::read];
  std::printf(
      "%llu reads sent, %llu cancelled, %d completed after their request had ended; "
      "%zu connections discarded (cancelled midway)\n",
      static_cast<unsigned long long>(stats.started),
      static_cast<unsigned long long>(stats.cancelled), orphans, pool.discarded());
  workbook::print_measured("orphaned_reads", orphans, "reads");
}

}  // namespace

int main() { return workbook::run_demo("the chapter 11 demo", demo); }
