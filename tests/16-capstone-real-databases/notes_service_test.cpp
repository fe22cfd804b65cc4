// Chapter 16's test, built against the pitfall and against the fix.
//
// One test per pattern the service combines, in virtual time on the mock,
// each failing with a sentence that ends with the pitfall and the chapter to
// revisit ("... - chapter 07"), so a learner sees which pitfalls remain. The
// service is handed a Recorder, a DatabaseService that forwards to the mock
// and notes when each read and query began: the service sees only the
// interface, as it will on SQLite and PostgreSQL. A service that loops for
// good meets a Recorder that stops answering after kCeiling operations.
#include "notes_service.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "mockdb/errors.hpp"
#include "mockdb/mock_database.hpp"
#include "workbook/format.hpp"
#include "workbook/run.hpp"
#include "workbook/timer.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using mockdb::Id;
using mockdb::OpKind;
using workbook::Clock;
using workbook::format;

namespace {

constexpr std::size_t kCeiling = 2000;
constexpr int kOwners = 2;
constexpr int kPerOwner = 100;

double ms(Clock::duration d) { return workbook::to_ms(d); }

// Forwards to the mock, noting when each read and query began.
class Recorder final : public mockdb::DatabaseService {
 public:
  explicit Recorder(mockdb::MockDatabase& db) : db_(db) {}

  struct Start {
    std::string key;  // "read 7" or the SQL text
    Clock::time_point at;
  };
  std::vector<Start> starts;
  bool ceiling_reached = false;

  asio::awaitable<std::unique_ptr<mockdb::Connection>> connect() override { return db_.connect(); }
  asio::awaitable<Id> create(std::string table, mockdb::Row row) override {
    return db_.create(std::move(table), std::move(row));
  }
  asio::awaitable<std::optional<mockdb::Row>> read(std::string table, Id id) override {
    note("read " + std::to_string(id));
    return db_.read(std::move(table), id);
  }
  asio::awaitable<bool> update(std::string table, Id id, mockdb::Row fields) override {
    return db_.update(std::move(table), id, std::move(fields));
  }
  asio::awaitable<bool> remove(std::string table, Id id) override {
    return db_.remove(std::move(table), id);
  }
  asio::awaitable<mockdb::Rows> query(std::string sql, mockdb::Params params) override {
    note(sql);
    return db_.query(std::move(sql), std::move(params));
  }

  // When the reads of note `id` began.
  std::vector<Clock::time_point> reads_of(Id id) const {
    std::vector<Clock::time_point> at;
    for (const Start& s : starts) {
      if (s.key == "read " + std::to_string(id)) at.push_back(s.at);
    }
    return at;
  }

 private:
  void note(std::string key) {
    if (starts.size() >= kCeiling) {
      ceiling_reached = true;
      throw std::runtime_error("the test stopped answering after " + std::to_string(kCeiling) +
                               " operations");
    }
    starts.push_back({std::move(key), Clock::now()});
  }
  mockdb::MockDatabase& db_;
};

// What a call to the service did.
template <typename T>
struct Call {
  bool completed = false;
  std::optional<T> value;
  std::exception_ptr error;
  Clock::duration took{};
};

class Capstone : public testing::Test {
 protected:
  Capstone() {
    workbook::run_to_completion(ctx, ch16::add_sample_notes(db, kOwners, kPerOwner));
    db.reset_stats();
    db.trace().clear();
  }

  std::size_t reentries() const {
    return ch16::CheckedMutex::held_across_co_await() - reentries_at_start_;
  }

  // Runs `task` until nothing is left to run; a task that can never end is
  // reported as such (virtual time: a hung read leaves the loop idle).
  template <typename T>
  Call<T> run(asio::awaitable<T> task) {
    Call<T> call;
    const auto start = Clock::now();
    try {
      call.value = workbook::run_to_completion(ctx, std::move(task));
    } catch (const workbook::NeverCompleted&) {
      call.took = Clock::now() - start;
      return call;
    } catch (...) {
      call.error = std::current_exception();
    }
    call.completed = true;
    call.took = Clock::now() - start;
    return call;
  }

  static std::string what(const std::exception_ptr& e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      return x.what();
    }
  }

  // The service under test, on the Recorder. It belongs to the fixture, so that
  // it outlives any coroutine the loop still holds when a test ends.
  ch16::NotesService& make_service(const ch16::Policy& policy) {
    service_ = std::make_unique<ch16::NotesService>(recorder, policy);
    return *service_;
  }

  static std::string title(Id id) { return "note " + std::to_string(id); }

  workbook::VirtualTime time;
  mockdb::MockDatabase db{mockdb::MockConfig{.max_connections = 0}};
  Recorder recorder{db};
  std::unique_ptr<ch16::NotesService> service_;
  asio::io_context ctx;  // last: destroyed first, with any coroutine left in it

 private:
  std::size_t reentries_at_start_ = ch16::CheckedMutex::held_across_co_await();
};

// ---- chapter 07: the counters' mutex

TEST_F(Capstone, CountersAreNeverLockedAcrossCoAwait) {
  db.set_latency(OpKind::read, mockdb::Latency::fixed(5ms));
  ch16::NotesService& service = make_service({});
  const std::vector<Id> ids{1, 2, 3, 4, 5, 6, 7, 8};
  const auto call = run(service.read_notes(ids));
  ASSERT_TRUE(call.completed && !call.error) << "read_notes() of 8 notes did not return them";
  EXPECT_EQ(reentries(), 0u) << format(
      "%zu times a coroutine asked for the service's mutex while another coroutine of the same "
      "thread held it, suspended in co_await. With a std::mutex the thread would have blocked "
      "in lock() for good, and the whole event loop with it: take the lock for the counters "
      "only, and end its scope before co_await - lock held across co_await - chapter 07",
      reentries());
  const auto reads = db.stats()[OpKind::read].started;
  EXPECT_EQ(service.stats().attempts, reads) << format(
      "the service counted %llu attempts, the database saw %llu reads: updates were lost. A "
      "copy of the counters taken before co_await and written back after it overwrites what "
      "the other coroutines counted meanwhile: change them in place, under the lock, before "
      "and after the await - chapter 07",
      static_cast<unsigned long long>(service.stats().attempts),
      static_cast<unsigned long long>(reads));
}

// ---- chapter 05: a deadline on every attempt

TEST_F(Capstone, AHungReadTimesOutAndIsRetried) {
  const ch16::Policy policy;
  db.set_latency(OpKind::read, mockdb::Latency::fixed(1ms));
  db.hang_next(1, OpKind::read);
  ch16::NotesService& service = make_service(policy);
  const auto call = run(service.read_note(5));
  if (!call.completed) {
    FAIL() << format(
        "read_note(5) never completed: the database never answered its first read, and "
        "nothing gave up on it (expected a timed_out after %.0f ms, then a second attempt) - "
        "no timeout on a hung database - chapter 05",
        ms(policy.timeout));
  }
  if (call.error) FAIL() << "read_note(5) failed: " << what(call.error);
  ASSERT_TRUE(call.value && *call.value) << "read_note(5) found no note 5";
  EXPECT_EQ((*call.value)->at("title").as_string(), title(5));
  EXPECT_GE(call.took, policy.timeout)
      << format("read_note(5) returned after %.1f ms, before the %.0f ms deadline of the hung read",
                ms(call.took), ms(policy.timeout));
  EXPECT_EQ(service.stats().timeouts, 1u) << "the service counted no timeout";
  workbook::run_until_idle(ctx);
  EXPECT_EQ(db.stats()[OpKind::read].in_flight, 0u)
      << "the read abandoned at the deadline is still running on the database: the timeout "
         "did not cancel it, so it holds its connection for good - chapter 05";
}

// ---- chapter 06: retries

TEST_F(Capstone, AnOutageIsRiddenOutWithFewAttempts) {
  const ch16::Policy policy;
  db.set_latency(OpKind::read, mockdb::Latency::fixed(1ms));
  const auto start = Clock::now();
  db.outage(0ms, 10ms);
  ch16::NotesService& service = make_service(policy);
  const auto call = run(service.read_note(7));
  std::size_t during = 0;
  for (const auto at : recorder.reads_of(7)) during += at < start + 10ms ? 1 : 0;
  EXPECT_LE(during, static_cast<std::size_t>(policy.max_attempts)) << format(
      "%zu attempts during the 10 ms outage%s; expected at most %d, each after a growing wait "
      "- a retry storm - chapter 06",
      during, recorder.ceiling_reached ? " (and still going when the test stopped answering)" : "",
      policy.max_attempts);
  if (!recorder.ceiling_reached) {
    EXPECT_TRUE(call.completed && !call.error && call.value && *call.value) << format(
        "read_note(7) did not return note 7 after a 10 ms outage%s; with waits of 2, 4, 8 ms... "
        "%d attempts outlast it - chapter 06",
        call.error ? (": " + what(call.error)).c_str() : "", policy.max_attempts);
  }
}

TEST_F(Capstone, APermanentErrorIsNeverRetried) {
  db.fail_next(1, mockdb::Errc::permission_denied, OpKind::read);
  ch16::NotesService& service = make_service({});
  const auto call = run(service.read_note(3));
  const std::size_t attempts = recorder.reads_of(3).size();
  EXPECT_EQ(attempts, 1u) << format(
      "read_note(3) made %zu attempts, though the first failed with permission denied, which no "
      "retry can fix: retry only what mockdb::is_transient() accepts - retried a permanent error "
      "- chapter 06",
      attempts);
  ASSERT_TRUE(call.completed && call.error)
      << "read_note(3) did not report the permission denied error";
  try {
    std::rethrow_exception(call.error);
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), mockdb::ErrorClass::insufficient_privilege)
        << "the error's code is " << e.code().message() << ", not the database's own";
    EXPECT_NE(std::string(e.what()).find("reading note 3"), std::string::npos)
        << "the error says \"" << e.what()
        << "\"; expected it to name what was done (\"reading note 3\") - error lacks context - "
           "chapter 10";
  } catch (const std::exception& e) {
    ADD_FAILURE() << "read_note(3) threw " << e.what() << ", not a system_error";
  }
}

TEST_F(Capstone, TransientErrorsAreRetriedWithinABudget) {
  const ch16::Policy policy;
  db.set_latency(OpKind::read, mockdb::Latency::fixed(1ms));
  db.fail_next(20, mockdb::Errc::connection_reset, OpKind::read);
  ch16::NotesService& service = make_service(policy);
  const auto call = run(service.read_note(9));
  const std::size_t attempts = recorder.reads_of(9).size();
  EXPECT_EQ(attempts, static_cast<std::size_t>(policy.max_attempts)) << format(
      "read_note(9) made %zu attempts against a run of 20 connection resets; expected it to "
      "give up after %d (the policy's max_attempts) - no attempt budget - chapter 06",
      attempts, policy.max_attempts);
  EXPECT_TRUE(call.completed && call.error) << "read_note(9) did not report the failure";
}

TEST_F(Capstone, BackoffGrowsUpToItsCapWithJitter) {
  ch16::Policy policy;
  policy.max_attempts = 8;
  db.set_latency(OpKind::read, mockdb::Latency::fixed(1ms));
  db.outage(0ms, 1s);
  ch16::NotesService& service = make_service(policy);
  // Two reads that fail together: they must not retry together.
  const auto call = run(service.read_notes({11, 12}));
  for (const Id id : {11, 12}) {
    const auto at = recorder.reads_of(id);
    ASSERT_GE(at.size(), 2u) << "note " << id << " was never retried during the outage";
    for (std::size_t k = 1; k < at.size(); ++k) {
      const auto gap = at[k] - at[k - 1];
      EXPECT_LE(gap, policy.backoff_cap + 1ms) << format(
          "note %lld waited %.1f ms before attempt %zu, over the cap of %.0f ms - backoff "
          "without a cap - chapter 06",
          static_cast<long long>(id), ms(gap), k + 1, ms(policy.backoff_cap));
      EXPECT_GE(gap, policy.backoff_base / 2) << format(
          "note %lld was retried %.2f ms after attempt %zu failed; expected a wait of at least "
          "%.0f ms - a retry storm - chapter 06",
          static_cast<long long>(id), ms(gap), k, ms(policy.backoff_base / 2));
    }
  }
  EXPECT_TRUE(recorder.reads_of(11) != recorder.reads_of(12))
      << "notes 11 and 12 failed together and retried at the very same instants: the waits "
         "have no jitter (or each call draws the same numbers), so clients that fail together "
         "come back together - retries in lockstep - chapter 06";
  EXPECT_TRUE(call.completed && call.error) << "the batch did not fail in a 1 s outage";
}

// ---- chapter 12: a bounded batch

TEST_F(Capstone, ABatchKeepsItsLimitOfReadsInFlight) {
  ch16::Policy policy;
  policy.max_in_flight = 4;
  db.set_latency(OpKind::read, mockdb::Latency::uniform(1ms, 9ms));
  ch16::NotesService& service = make_service(policy);
  std::vector<Id> ids;
  for (Id id = 1; id <= 24; ++id) ids.push_back(id);
  const auto call = run(service.read_notes(ids));
  ASSERT_TRUE(call.completed && !call.error && call.value)
      << "read_notes() of 24 notes did not return them"
      << (call.error ? ": " + what(call.error) : std::string());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto& note = (*call.value)[i];
    EXPECT_TRUE(note && note->at("title").as_string() == title(ids[i]))
        << "result " << i << " is not note " << ids[i] << ": results must come in the order of ids";
  }
  const std::size_t most = db.stats()[OpKind::read].max_in_flight;
  EXPECT_LE(most, policy.max_in_flight) << format(
      "read_notes() of 24 notes had %zu reads in flight at once; the policy allows %zu - an "
      "unbounded batch - chapter 12",
      most, policy.max_in_flight);
  EXPECT_GE(most, policy.max_in_flight) << format(
      "read_notes() of 24 notes ran at most %zu reads at once; the policy allows %zu, and the "
      "batch took %.1f ms - reads did not overlap - chapter 03",
      most, policy.max_in_flight, ms(call.took));
  // Whenever a read ends while ids still wait, the next one starts at once.
  std::vector<std::pair<Clock::time_point, Clock::time_point>> spans;
  for (const auto& s : db.trace().spans()) {
    if (s.operation == "read" && s.end) spans.emplace_back(s.start, *s.end);
  }
  for (const auto& [start, end] : spans) {
    const auto e = end;
    const bool more_later =
        std::any_of(spans.begin(), spans.end(), [e](const auto& o) { return o.first > e; });
    if (!more_later) continue;
    const auto running = std::count_if(spans.begin(), spans.end(),
                                       [e](const auto& o) { return o.first <= e && o.second > e; });
    if (static_cast<std::size_t>(running) < policy.max_in_flight) {
      ADD_FAILURE() << format(
          "a read ended at %.2f ms, and only %zu reads ran after it while notes still waited: a "
          "free slot stood idle until the rest of its group ended. Start the next read as soon "
          "as any read ends - bounded by batches - chapter 12",
          ms(e - spans.front().first), static_cast<std::size_t>(running));
      break;
    }
  }
}

// ---- chapter 11: cancellation leaves nothing running

TEST_F(Capstone, CancellingABatchLeavesNothingRunning) {
  db.set_latency(OpKind::read, mockdb::Latency::fixed(10ms));
  ch16::NotesService& service = make_service({});
  std::vector<Id> ids;
  for (Id id = 1; id <= 24; ++id) ids.push_back(id);
  asio::cancellation_signal give_up;
  const auto start = Clock::now();
  bool ended = false;
  std::optional<Clock::time_point> ended_at;
  asio::co_spawn(
      ctx, service.read_notes(ids),
      asio::bind_cancellation_slot(give_up.slot(), [&](const std::exception_ptr&, const auto&) {
        ended = true;
        ended_at = Clock::now();
      }));
  auto cancel_later = [&]() -> asio::awaitable<void> {
    co_await workbook::sleep_for(15ms);
    give_up.emit(asio::cancellation_type::terminal);
  };
  asio::co_spawn(ctx, cancel_later(), asio::detached);
  workbook::run_until_idle(ctx);
  ASSERT_TRUE(ended) << "read_notes() never ended after it was cancelled";
  std::size_t late = 0;
  for (const auto& s : recorder.starts) late += s.at > start + 15ms ? 1 : 0;
  EXPECT_EQ(late, 0u) << format(
      "%zu reads started after the batch was cancelled at 15 ms, and it ended at %.1f ms - "
      "operation still running after cancel - chapter 11",
      late, ms(*ended_at - start));
  EXPECT_EQ(db.stats()[OpKind::read].in_flight, 0u)
      << "reads are still in flight after the cancelled batch ended - operation still running "
         "after cancel - chapter 11";
}

// ---- chapter 09: streaming by keyset pages

TEST_F(Capstone, AnExportStreamsKeysetPages) {
  ch16::Policy policy;
  policy.page_size = 10;
  ch16::NotesService& service = make_service(policy);
  std::vector<Id> seen;
  ch16::NoteSink sink = [&seen](const mockdb::Row& note) {
    if (note.at("owner").to_number<std::int64_t>() == 1) seen.push_back(note.at("id").as_int64());
    return true;
  };
  const auto call = run(service.export_notes(1, sink));
  ASSERT_TRUE(call.completed && !call.error)
      << "export_notes(1) failed" << (call.error ? ": " + what(call.error) : std::string());
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kPerOwner))
      << "owner 1's notes were not all handed over";
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end())) << "the notes did not come in id order";
  EXPECT_EQ(call.value.value_or(0), seen.size()) << "export_notes() returned another count";
  const auto table = static_cast<std::uint64_t>(kOwners) * kPerOwner;
  const std::uint64_t most = 2 * table;
  const std::uint64_t scanned = db.stats().rows_scanned;
  EXPECT_LE(scanned, most) << format(
      "exporting %d notes in pages of 10 scanned %llu rows of a %llu-row table; expected at "
      "most %llu (each row about once): page k walked past every row before it again. Ask for "
      "the rows after the last id handed out - OFFSET paging rescans - chapter 09",
      kPerOwner, static_cast<unsigned long long>(scanned), static_cast<unsigned long long>(table),
      static_cast<unsigned long long>(most));
}

TEST_F(Capstone, AnExportStopsWhenTheSinkSaysSo) {
  ch16::Policy policy;
  policy.page_size = 10;
  ch16::NotesService& service = make_service(policy);
  std::size_t taken = 0;
  ch16::NoteSink sink = [&taken](const mockdb::Row&) { return ++taken < 15; };
  const auto call = run(service.export_notes(2, sink));
  ASSERT_TRUE(call.completed && !call.error) << "export_notes(2) failed";
  EXPECT_EQ(taken, 15u) << "the sink was called after it said stop";
  EXPECT_LE(db.stats()[OpKind::query].started, 2u) << "pages were read after the sink said stop";
}

// ---- the seam the demo and the benchmark choose a backend through

TEST(CapstoneBackends, AnUnknownBackendIsRefusedByName) {
  asio::io_context ctx;
  EXPECT_NE(ch16::open_backend("mock", ctx.get_executor()), nullptr);
  try {
    (void)ch16::open_backend("oracle", ctx.get_executor());
    ADD_FAILURE() << "open_backend(\"oracle\") opened something";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("mock"), std::string::npos)
        << "the refusal does not list the known backends: " << e.what();
  }
}

}  // namespace
