// Chapter 10's benchmark: what reporting failures costs, and what the C++
// choice between exceptions and error values costs, at failure rates of 0 %,
// 1 % and 50 % (the size argument is the rate in percent).
//
// <variant>/{sequential,concurrent}/<rate>: 64 autosaves through this build's
// start_save(), against the mock database with no latency (so the CPU cost of
// the failure path is what shows), its updates failing at random with the
// mock's seeded generator. Sequential: each save is started and the loop run
// until it has ended, one after another; concurrent: all 64 are started, then
// the loop runs. The counters make a swallowed failure visible:
//   failures_seen      updates the database failed, per iteration
//   failures_reported  failed() calls the reporter received, per iteration
//   saves_reported     saved() calls, per iteration
// The pitfall's failures_reported stays 0 whatever failures_seen says.
//
// Reference rows, built into the fix's program only, each counting the
// failures it saw (failures_reported):
//   exceptions/... and as_tuple/...: the same 64 updates awaited directly, a
//     failure caught with try/catch around co_await (exceptions), or turned
//     into a value with co_await co_spawn(ex, db.update(...),
//     as_tuple(use_awaitable)) (as_tuple). The mock's operations are
//     coroutines that throw, so both pay for the mock's own throw.
//   channel_throw/... and channel_as_tuple/...: 64 receives from an Asio
//     channel whose value is an error_code (failing at the same rate, from a
//     seeded generator): an operation that completes with an error_code, as a
//     socket read or a timer wait does. use_awaitable turns a failed one into
//     a thrown system_error, caught with try/catch; as_tuple(use_awaitable)
//     hands the error_code back as a value, and nothing is thrown at all.
#include <benchmark/benchmark.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <cstdint>
#include <cstring>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "note_saver.hpp"
#include "workbook/bench.hpp"
#include "workbook/run.hpp"
#include "workbook/variant.hpp"

namespace asio = boost::asio;

namespace {

constexpr mockdb::Id kSaves = 64;
const std::vector<std::int64_t> kFailurePercent = {0, 1, 50};

// Counts the reports; the benchmark has no use for their content.
class CountingReporter final : public ch10::SaveReporter {
 public:
  void saved(const ch10::Edit& /*edit*/) override { ++saved_count; }
  void refused(const ch10::Edit& /*edit*/, ch10::Refusal /*why*/) override { ++refused_count; }
  void failed(const ch10::Edit& /*edit*/, std::exception_ptr /*error*/) override { ++failed_count; }
  std::uint64_t saved_count = 0;
  std::uint64_t refused_count = 0;
  std::uint64_t failed_count = 0;
};

// kSaves notes, note i owned by user i (so each duplicate check finds one row).
asio::awaitable<void> seed(mockdb::DatabaseService& db) {
  for (mockdb::Id id = 1; id <= kSaves; ++id) {
    mockdb::Row row;
    row["owner"] = id;
    row["title"] = "note " + std::to_string(id);
    row["body"] = "text";
    co_await db.create(ch10::kNotesTable, std::move(row));
  }
}

std::uint64_t failed_updates(const mockdb::MockDatabase& db) {
  return db.stats()[mockdb::OpKind::update].failed;
}

void set_counters(benchmark::State& state, std::uint64_t seen, std::uint64_t reported,
                  std::uint64_t saved) {
  using benchmark::Counter;
  state.counters["failures_seen"] = Counter(static_cast<double>(seen), Counter::kAvgIterations);
  state.counters["failures_reported"] =
      Counter(static_cast<double>(reported), Counter::kAvgIterations);
  state.counters["saves_reported"] = Counter(static_cast<double>(saved), Counter::kAvgIterations);
}

void autosave(benchmark::State& state, bool concurrent) {
  asio::io_context ctx;
  mockdb::MockDatabase db{mockdb::MockConfig{.seed = 10, .trace = false}};
  workbook::run_to_completion(ctx, seed(db), "seeding the notes");
  if (state.range(0) > 0) {
    db.fail_randomly(static_cast<double>(state.range(0)) / 100.0, mockdb::Errc::connection_reset,
                     mockdb::OpKind::update);
  }
  CountingReporter reporter;
  const std::uint64_t failed_before = failed_updates(db);
  for (auto _ : state) {
    for (mockdb::Id id = 1; id <= kSaves; ++id) {
      ch10::start_save(
          ctx.get_executor(), db,
          ch10::Edit{
              .note = id, .user = id, .title = "note " + std::to_string(id), .body = "edited"},
          reporter);
      if (!concurrent) workbook::run_until_idle(ctx);
    }
    if (concurrent) workbook::run_until_idle(ctx);
  }
  set_counters(state, failed_updates(db) - failed_before, reporter.failed_count,
               reporter.saved_count);
}

// ---- the reference rows: exceptions against as_tuple, on the bare update ----

asio::awaitable<void> update_with_try(mockdb::DatabaseService& db, mockdb::Id id,
                                      std::uint64_t& failures) {
  mockdb::Row fields;
  fields["body"] = "edited";
  try {
    co_await db.update(ch10::kNotesTable, id, std::move(fields));
  } catch (const boost::system::system_error&) {
    ++failures;
  }
}

asio::awaitable<void> update_with_as_tuple(mockdb::DatabaseService& db, mockdb::Id id,
                                           std::uint64_t& failures) {
  mockdb::Row fields;
  fields["body"] = "edited";
  const auto ex = co_await asio::this_coro::executor;
  auto [error, found] = co_await asio::co_spawn(
      ex, db.update(ch10::kNotesTable, id, std::move(fields)), asio::as_tuple(asio::use_awaitable));
  if (error) ++failures;
}

template <bool AsTuple>
asio::awaitable<void> update_all_in_turn(mockdb::DatabaseService& db, std::uint64_t& failures) {
  for (mockdb::Id id = 1; id <= kSaves; ++id) {
    if constexpr (AsTuple) {
      co_await update_with_as_tuple(db, id, failures);
    } else {
      co_await update_with_try(db, id, failures);
    }
  }
}

template <bool AsTuple>
void bare_updates(benchmark::State& state, bool concurrent) {
  asio::io_context ctx;
  mockdb::MockDatabase db{mockdb::MockConfig{.seed = 10, .trace = false}};
  workbook::run_to_completion(ctx, seed(db), "seeding the notes");
  if (state.range(0) > 0) {
    db.fail_randomly(static_cast<double>(state.range(0)) / 100.0, mockdb::Errc::connection_reset,
                     mockdb::OpKind::update);
  }
  // Anything but a database error is a bug: let it end the benchmark loudly.
  const auto rethrow = [](const std::exception_ptr& e) {
    if (e) std::rethrow_exception(e);
  };
  std::uint64_t failures = 0;
  const std::uint64_t failed_before = failed_updates(db);
  for (auto _ : state) {
    if (concurrent) {
      for (mockdb::Id id = 1; id <= kSaves; ++id) {
        if constexpr (AsTuple) {
          asio::co_spawn(ctx, update_with_as_tuple(db, id, failures), rethrow);
        } else {
          asio::co_spawn(ctx, update_with_try(db, id, failures), rethrow);
        }
      }
      workbook::run_until_idle(ctx);
    } else {
      workbook::run_to_completion(ctx, update_all_in_turn<AsTuple>(db, failures), "updates");
    }
  }
  set_counters(state, failed_updates(db) - failed_before, failures, 0);
}

// ---- the reference rows: an operation that completes with an error_code ----

using ErrorChannel = asio::experimental::channel<void(boost::system::error_code)>;

// One receive of `ec`, already waiting in a channel of its own.
template <bool AsTuple>
asio::awaitable<void> receive(boost::system::error_code ec, std::uint64_t& failures) {
  ErrorChannel channel(co_await asio::this_coro::executor, 1);
  channel.try_send(ec);
  if constexpr (AsTuple) {
    auto [error] = co_await channel.async_receive(asio::as_tuple(asio::use_awaitable));
    if (error) ++failures;
  } else {
    try {
      co_await channel.async_receive(asio::use_awaitable);
    } catch (const boost::system::system_error&) {
      ++failures;
    }
  }
}

template <bool AsTuple>
asio::awaitable<void> receive_all_in_turn(const std::vector<boost::system::error_code>& codes,
                                          std::uint64_t& failures) {
  for (const boost::system::error_code& ec : codes) co_await receive<AsTuple>(ec, failures);
}

template <bool AsTuple>
void channel_receives(benchmark::State& state, bool concurrent) {
  asio::io_context ctx;
  std::mt19937_64 rng(10);
  std::bernoulli_distribution fails(static_cast<double>(state.range(0)) / 100.0);
  const auto rethrow = [](const std::exception_ptr& e) {
    if (e) std::rethrow_exception(e);
  };
  std::vector<boost::system::error_code> codes(static_cast<std::size_t>(kSaves));
  std::uint64_t failures = 0;
  std::uint64_t seen = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (auto& ec : codes) {
      ec = fails(rng) ? boost::system::error_code(mockdb::Errc::connection_reset)
                      : boost::system::error_code();
      seen += ec ? 1 : 0;
    }
    state.ResumeTiming();
    if (concurrent) {
      for (const auto& ec : codes) asio::co_spawn(ctx, receive<AsTuple>(ec, failures), rethrow);
      workbook::run_until_idle(ctx);
    } else {
      workbook::run_to_completion(ctx, receive_all_in_turn<AsTuple>(codes, failures), "receives");
    }
  }
  set_counters(state, seen, failures, 0);
}

template <typename Run>
void register_reference(const std::string& series, Run run) {
  for (const bool concurrent : {false, true}) {
    const std::string name = series + (concurrent ? "/concurrent" : "/sequential");
    auto* bench = benchmark::RegisterBenchmark(name.c_str(), run, concurrent);
    for (const std::int64_t rate : kFailurePercent) bench->Arg(rate);
    bench->Unit(benchmark::kMillisecond)->UseRealTime();
  }
}

const bool registered = [] {
  workbook::register_matrix(autosave, kFailurePercent);
  if (std::strcmp(workbook::variant_name(), "fix") == 0) {
    register_reference("exceptions", bare_updates<false>);
    register_reference("as_tuple", bare_updates<true>);
    register_reference("channel_throw", channel_receives<false>);
    register_reference("channel_as_tuple", channel_receives<true>);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
