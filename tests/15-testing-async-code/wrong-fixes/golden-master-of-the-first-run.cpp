// WRONG: takes the first run as the golden master: whichever service ran first becomes the key
// expect: your test 'matches the golden master' failed against the correct service
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include "mockdb/errors.hpp"
#include "note_service.hpp"
#include "workbook/clock.hpp"
#include "workbook/format.hpp"
#include "workbook/run.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ch15::Fixture;
using mockdb::Id;
using workbook::run_to_completion;

// A scenario touching every operation; its observable trace as strings.
std::vector<std::string> scenario(Fixture& f) {
  std::vector<std::string> out;
  auto note = [&](const std::string& s) {
    out.push_back(
        s + " @" +
        std::to_string(workbook::to_ms(workbook::Clock::now() - workbook::Clock::time_point{})));
  };
  auto attempt = [&](const std::string& what, auto task) {
    try {
      auto v = run_to_completion(f.ctx, std::move(task));
      if constexpr (std::is_same_v<decltype(v), std::optional<std::string>>)
        note(what + " = " + v.value_or("<none>"));
      else
        note(what + " = " + std::to_string(v));
    } catch (const std::exception& e) {
      note(what + " threw " + typeid(e).name());
    }
  };
  attempt("save", f.notes.save("a"));
  attempt("title", f.notes.title(1));
  attempt("rename", f.notes.rename(1, "b"));
  attempt("title", f.notes.title(1));
  f.db.fail_next(1, mockdb::Errc::connection_reset, mockdb::OpKind::create);
  attempt("save failing", f.notes.save("c"));
  f.db.set_latency(mockdb::Latency::fixed(10ms));
  int failed = 0;
  for (int i = 0; i < 5; ++i)
    asio::co_spawn(f.ctx, f.notes.save("p"),
                   [&](const std::exception_ptr& e, Id) { failed += e ? 1 : 0; });
  for (int i = 0; i < 5; ++i)
    asio::co_spawn(f.ctx, f.notes.like(1),
                   [&](const std::exception_ptr& e) { failed += e ? 1 : 0; });
  workbook::run_until_idle(f.ctx);
  note("concurrent failures " + std::to_string(failed));
  attempt("likes", f.notes.likes(1));
  f.db.set_latency(mockdb::OpKind::create, mockdb::Latency::fixed(90ms));
  attempt("save_within 90/100", f.notes.save_within("w", 100ms));
  f.db.set_latency(mockdb::OpKind::create, mockdb::Latency::fixed(150ms));
  attempt("save_within 150/100", f.notes.save_within("w", 100ms));
  workbook::run_until_idle(f.ctx);
  note("rows " + std::to_string(f.db.count(ch15::kNotesTable)));
  return out;
}

std::optional<std::vector<std::string>> g_golden;

void matches_the_golden_master(Fixture& f) {
  const std::vector<std::string> trace = scenario(f);
  if (!g_golden) g_golden = trace;  // the first run records the reference
  EXPECT_EQ(trace, *g_golden);
}

}  // namespace

void ch15::register_tests(TestList& tests) {
  tests.add("matches the golden master", matches_the_golden_master);
}
