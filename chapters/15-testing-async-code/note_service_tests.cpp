// Chapter 15, the pitfall: tests that cannot fail.
//
// Each test below looks like a test and passes against the correct service,
// and each passes against broken ones too:
//  - the first spawns its checks and never runs the io_context: the coroutine
//    never starts, so its EXPECTs never execute and it passes vacuously;
//  - the second is the seed guide's concurrent-access test: it counts the
//    tasks that finished, and a task that failed has finished too;
//  - the third times the deadline on the wall clock. In real time it is flaky
//    (a timer due at 100 ms fires later on a busy machine); in the fixture's
//    virtual time the wall clock measures how fast the simulation ran, and the
//    test checks nothing at all.
// Write tests that the broken services in note_services.cpp fail.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <chrono>
#include <exception>

#include "note_service.hpp"
#include "workbook/run.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ch15::Fixture;
using mockdb::Id;

constexpr int kTasks = 10;

asio::awaitable<void> save_then_read(ch15::NoteService& notes) {
  const Id id = co_await notes.save("groceries");
  EXPECT_EQ(co_await notes.title(id), "groceries");
}

//! [pitfall]
void saved_note_reads_back(Fixture& f) {
  asio::co_spawn(f.ctx, save_then_read(f.notes), asio::detached);
  // Nothing ran f.ctx: save_then_read() has not started, and never will.
}
//! [pitfall]

//! [pitfall_guide]
void concurrent_saves_all_succeed(Fixture& f) {
  f.db.set_latency(mockdb::Latency::fixed(10ms));
  int finished = 0;
  for (int i = 0; i < kTasks; ++i) {
    asio::co_spawn(f.ctx, f.notes.save("note " + std::to_string(i)),
                   [&finished](const std::exception_ptr&, Id) { ++finished; });
  }
  workbook::run_until_idle(f.ctx);
  EXPECT_EQ(finished, kTasks);  // every task finished: it says nothing of how
}
//! [pitfall_guide]

//! [pitfall_wall_clock]
void slow_save_times_out_in_time(Fixture& f) {
  f.db.set_latency(mockdb::OpKind::create, mockdb::Latency::fixed(200ms));
  const auto start = std::chrono::steady_clock::now();
  try {
    workbook::run_to_completion(f.ctx, f.notes.save_within("slow", 100ms));
  } catch (const ch15::Timeout&) {
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 150ms);  // 100 ms, give or take 50
}
//! [pitfall_wall_clock]

}  // namespace

void ch15::register_tests(TestList& tests) {
  tests.add("a saved note reads back", saved_note_reads_back);
  tests.add("concurrent saves all succeed", concurrent_saves_all_succeed);
  tests.add("a slow save times out in time", slow_save_times_out_in_time);
}
