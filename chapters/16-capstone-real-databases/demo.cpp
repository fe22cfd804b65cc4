// Chapter 16's demo: the notes service through a bad afternoon on the mock.
//
// One run of four scenes, each the symptom of one pattern the service needs,
// in real time (about a second): a batch of 40 reads (how many ran at once,
// and whether the counters' mutex was asked for by a coroutine of the thread
// that held it), a 20 ms outage (how many attempts it cost), a permanent
// error (retried or not, and what the error says), a hung read (a deadline
// or none), and an export of 200 notes (rows scanned). The batch is drawn as
// a timeline. Built with the pitfall (ch16_demo_pitfall) and the fix.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "notes_service.hpp"
#include "workbook/format.hpp"
#include "workbook/measured.hpp"
#include "workbook/run.hpp"
#include "workbook/timeline.hpp"
#include "workbook/timer.hpp"
#include "workbook/variant.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Runs `task`, but gives up on it after `limit` of real time: the pitfall's
// hung read would otherwise keep the demo waiting for good.
template <typename T>
std::string run_for(asio::io_context& ctx, asio::awaitable<T> task,
                    workbook::Clock::duration limit) {
  std::string outcome = workbook::format("still waiting after %.0f ms", workbook::to_ms(limit));
  workbook::Timer give_up(ctx.get_executor(), limit);
  give_up.async_wait([&ctx](boost::system::error_code ec) {
    if (!ec) ctx.stop();  // the task is left suspended, as a caller without a deadline is
  });
  asio::co_spawn(ctx, std::move(task), [&](const std::exception_ptr& e, const auto&) {
    outcome = "returned";
    give_up.cancel();
    ctx.stop();
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      outcome = std::string("failed: ") + x.what();
    }
  });
  ctx.restart();
  ctx.run();
  return outcome;
}

void demo() {
  mockdb::MockDatabase db{mockdb::MockConfig{.max_connections = 0}};
  ch16::NotesService service(db);
  // Last, so destroyed first: a read the pitfall left hanging is destroyed
  // while the service it uses still exists.
  asio::io_context ctx;
  workbook::run_to_completion(ctx, ch16::add_sample_notes(db, 2, 100));
  db.set_latency(mockdb::OpKind::read, mockdb::Latency::uniform(2ms, 8ms));
  db.set_latency(mockdb::OpKind::query, mockdb::Latency::fixed(1ms));
  db.trace().clear();
  db.reset_stats();

  std::printf("Chapter 16, %s: the notes service on the mock database\n\n",
              workbook::variant_name());
  // 1. A batch of 40 reads, limit 4.
  std::vector<mockdb::Id> ids;
  for (mockdb::Id id = 1; id <= 40; ++id) ids.push_back(id);
  const auto mutex_before = ch16::CheckedMutex::held_across_co_await();
  const auto started = workbook::Clock::now();
  const std::string batch = run_for(ctx, service.read_notes(ids), 500ms);
  std::vector<workbook::Span> reads;
  for (const auto& span : db.trace().spans()) {
    if (span.operation == "read" && reads.size() < 16) reads.push_back(span);
  }
  workbook::TimelineOptions options;
  options.title = "read_notes() of 40 notes, policy: at most 4 at once (the first 16 drawn)";
  std::cout << workbook::render_timeline(reads, options);
  const std::size_t in_flight = db.stats()[mockdb::OpKind::read].max_in_flight;
  std::printf("batch %s in %.0f ms; at most %zu reads in flight (limit 4)\n", batch.c_str(),
              workbook::to_ms(workbook::Clock::now() - started), in_flight);
  std::printf(
      "the counters' mutex was asked for %zu times by a coroutine of the thread that "
      "held it across co_await (a std::mutex would have deadlocked at the first)\n\n",
      ch16::CheckedMutex::held_across_co_await() - mutex_before);

  // 2. A 20 ms outage.
  db.set_latency(mockdb::OpKind::read, mockdb::Latency::fixed(1ms));
  db.reset_stats();
  db.outage(0ms, 20ms);
  const std::string outage = run_for(ctx, service.read_note(7), 300ms);
  std::printf("read_note(7) through a 20 ms outage: %s after %llu attempts\n", outage.c_str(),
              static_cast<unsigned long long>(db.stats()[mockdb::OpKind::read].started));

  // 3. A permanent error.
  db.reset_stats();
  db.fail_next(1, mockdb::Errc::permission_denied, mockdb::OpKind::read);
  const std::string denied = run_for(ctx, service.read_note(3), 300ms);
  std::printf("read_note(3) after permission denied: %s (%llu attempts)\n", denied.c_str(),
              static_cast<unsigned long long>(db.stats()[mockdb::OpKind::read].started));

  // 4. A hung read.
  db.reset_stats();
  db.hang_next(1, mockdb::OpKind::read);
  const std::string hung = run_for(ctx, service.read_note(5), 200ms);
  std::printf("read_note(5) on a database that never answers: %s\n", hung.c_str());

  // 5. An export of owner 1's 100 notes, pages of 20.
  db.reset_stats();
  std::size_t handed = 0;
  ch16::NoteSink count = [&handed](const mockdb::Row&) { return ++handed > 0; };
  const std::string exported = run_for(ctx, service.export_notes(1, count), 300ms);
  std::printf("export_notes(1): %s, %zu notes handed over, %llu rows scanned in a table of 200\n",
              exported.c_str(), handed, static_cast<unsigned long long>(db.stats().rows_scanned));
  workbook::print_measured("batch_in_flight", static_cast<double>(in_flight), "reads");
}

// add_sample_notes() with a result, for run_for().
asio::awaitable<int> load_sample_notes(mockdb::DatabaseService& db) {
  co_await ch16::add_sample_notes(db, 2, 100);
  co_return 200;
}

// The same service, unchanged, on every backend this build has: what a learner would see on a
// real database. Real time, with a deadline per attempt a real server can meet on a busy machine.
void on_every_backend() {
  std::printf("\nThe same service on every backend this build has (real time):\n");
  std::printf("  %-9s %-22s %-40s %s\n", "backend", "200 notes written",
              "read_notes(40), limit 4, pool of 8", "export_notes(1)");
  for (const std::string_view name : ch16::known_backends()) {
    asio::io_context ctx;
    std::unique_ptr<mockdb::DatabaseService> db;
    try {
      db = ch16::open_backend(name, ctx.get_executor());
    } catch (const std::exception& e) {
      std::printf("  %-9s not available here: %s\n", std::string(name).c_str(), e.what());
      continue;
    }
    ch16::Policy policy;
    policy.timeout = 2s;
    ch16::NotesService service(*db, policy);
    auto started = workbook::Clock::now();
    const std::string loaded = run_for(ctx, load_sample_notes(*db), 10s);
    const double load_ms = workbook::to_ms(workbook::Clock::now() - started);
    std::vector<mockdb::Id> ids;
    for (mockdb::Id id = 1; id <= 40; ++id) ids.push_back(id);
    started = workbook::Clock::now();
    const std::string batch = run_for(ctx, service.read_notes(ids), 10s);
    const double batch_ms = workbook::to_ms(workbook::Clock::now() - started);
    const auto attempts = service.stats().attempts;
    std::size_t handed = 0;
    ch16::NoteSink count = [&handed](const mockdb::Row&) { return ++handed > 0; };
    started = workbook::Clock::now();
    const std::string exported = run_for(ctx, service.export_notes(1, count), 10s);
    const double export_ms = workbook::to_ms(workbook::Clock::now() - started);
    std::printf(
        "  %-9s %-22s %-40s %s\n", std::string(name).c_str(),
        workbook::format("%s in %.1f ms", loaded.c_str(), load_ms).c_str(),
        workbook::format("%s in %.1f ms, %llu attempts", batch.c_str(), batch_ms,
                         static_cast<unsigned long long>(attempts))
            .c_str(),
        workbook::format("%s, %zu notes in %.1f ms", exported.c_str(), handed, export_ms).c_str());
    db.reset();  // before the io_context its operations ran on
  }
}

}  // namespace

int main() {
  return workbook::run_demo("the chapter 16 demo", [] {
    demo();
    on_every_backend();
  });
}
