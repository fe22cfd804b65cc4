// WRONG: counts its runs in a static: passes only the first run, and the correct one is not first
// expect: your test 'first run only' failed against the correct service
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <chrono>
#include <exception>
#include <set>
#include <string>
#include <vector>

#include "mockdb/errors.hpp"
#include "note_service.hpp"
#include "workbook/clock.hpp"
#include "workbook/run.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ch15::Fixture;
using mockdb::Id;
using workbook::run_to_completion;

constexpr int kTasks = 10;

// Fails every run but the first of each process.
int g_runs = 0;
void first_run_only(Fixture& f) {
  (void)run_to_completion(f.ctx, f.notes.save("x"));
  EXPECT_EQ(++g_runs, 1) << "run " << g_runs;
}

}  // namespace

void ch15::register_tests(TestList& tests) { tests.add("first run only", first_run_only); }
