// Chapter 16's test, built against the pitfall and against the fix.
//
// One test per pattern the service combines, in virtual time on the mock,
// each failing with a sentence that ends with the pitfall and the chapter to
// revisit ("... - chapter 07"), so a learner sees which pitfalls remain. The
// service is handed a Recorder, a DatabaseService that forwards to the mock
// and notes when each read and query began: the service sees only the
// interface, as it will on SQLite and PostgreSQL. A service that loops for
// good meets a Recorder that stops answering after kCeiling operations. The
// Recorder also plays what a real database may do and the mock does not: it
// returns the rows of a query without ORDER BY in another order than id
// order, and it can fail every read of a chosen note.
#include "notes_service.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cctype>
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
    if (const auto fault = failing_reads.find(id); fault != failing_reads.end()) {
      return fail_after_read(std::move(table), id, fault->second);
    }
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
    return answer(std::move(sql), std::move(params));
  }

  // Every read of these notes fails with this error, after the read's latency.
  std::map<Id, mockdb::Errc> failing_reads;
  // The rows all queries returned, by owner.
  std::map<std::int64_t, std::size_t> rows_returned;

  // When the reads of note `id` began.
  std::vector<Clock::time_point> reads_of(Id id) const {
    std::vector<Clock::time_point> at;
    for (const Start& s : starts) {
      if (s.key == "read " + std::to_string(id)) at.push_back(s.at);
    }
    return at;
  }

 private:
  asio::awaitable<std::optional<mockdb::Row>> fail_after_read(std::string table, Id id,
                                                              mockdb::Errc error) {
    (void)co_await db_.read(std::move(table), id);
    mockdb::throw_database_error(error, "the test fails every read of note " + std::to_string(id));
  }

  // The rows of `sql`. Without ORDER BY a database promises no order (PostgreSQL returns
  // what its plan yields); the mock's would be id order, so the Recorder reverses them.
  asio::awaitable<mockdb::Rows> answer(std::string sql, mockdb::Params params) {
    std::string lower = sql;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool ordered = lower.find("order by") != std::string::npos;
    mockdb::Rows rows = co_await db_.query(std::move(sql), std::move(params));
    if (!ordered) std::reverse(rows.begin(), rows.end());
    for (const mockdb::Row& row : rows) {
      if (row.contains("owner")) ++rows_returned[row.at("owner").to_number<std::int64_t>()];
    }
    co_return rows;
  }

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
  if (call.error) {
    const std::size_t attempts = recorder.reads_of(5).size();
    if (attempts == 1) {
      FAIL() << format(
          "read_note(5) failed after one attempt (%s): its only hung read timed out and was not "
          "tried again, though a timeout is transient (mockdb::is_transient says so) - a "
          "timeout not retried - chapter 06",
          what(call.error).c_str());
    }
    FAIL() << format(
        "read_note(5) failed after %zu attempts (%s), though only its first read hung: each "
        "attempt gets a whole deadline of its own, counted from its start - one deadline for "
        "all attempts - chapter 05",
        attempts, what(call.error).c_str());
  }
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

TEST_F(Capstone, AHungCreateTimesOutAndIsNotRetried) {
  const ch16::Policy policy;
  db.set_latency(OpKind::create, mockdb::Latency::fixed(1ms));
  db.hang_next(1, OpKind::create);
  ch16::NotesService& service = make_service(policy);
  const std::size_t before = db.count(ch16::kNotesTable);
  const auto call = run(service.create_note(1, "hung"));
  const auto creates = db.stats()[OpKind::create].started;
  EXPECT_EQ(creates, 1u) << format(
      "create_note() was tried %llu times after its first create did not answer: that create "
      "may have happened with its reply lost, and a retry writes the note twice. A create "
      "fails with timed_out instead - a create retried - chapter 06",
      static_cast<unsigned long long>(creates));
  if (!call.completed) {
    FAIL() << format(
        "create_note() never completed: the database never answered the create, and nothing "
        "gave up on it (expected timed_out after %.0f ms) - a create without a deadline - "
        "chapter 05",
        ms(policy.timeout));
  }
  ASSERT_TRUE(call.error) << format(
      "create_note() returned a note %.1f ms after its first create hung; expected it to fail "
      "with timed_out at the %.0f ms deadline, and not to try again - a create retried - "
      "chapter 06",
      ms(call.took), ms(policy.timeout));
  try {
    std::rethrow_exception(call.error);
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), mockdb::ErrorClass::timed_out)
        << "the hung create failed with " << e.code().message() << ", not timed_out";
  } catch (const std::exception& e) {
    ADD_FAILURE() << "create_note() threw " << e.what() << ", not a system_error";
  }
  EXPECT_EQ(call.took, policy.timeout)
      << format("create_note() gave up after %.1f ms; its deadline is %.0f ms", ms(call.took),
                ms(policy.timeout));
  workbook::run_until_idle(ctx);
  EXPECT_EQ(db.stats()[OpKind::create].in_flight, 0u)
      << "the create abandoned at its deadline is still running on the database - chapter 05";
  EXPECT_EQ(db.count(ch16::kNotesTable), before) << "the hung create wrote a note";
}

TEST_F(Capstone, ACreateWhoseReplyWasLostIsNotRetried) {
  db.fail_after_effect_next(1, mockdb::Errc::connection_reset, OpKind::create);
  ch16::NotesService& service = make_service({});
  const std::size_t before = db.count(ch16::kNotesTable);
  const auto call = run(service.create_note(2, "once"));
  const std::size_t written = db.count(ch16::kNotesTable) - before;
  EXPECT_EQ(written, 1u) << format(
      "create_note() wrote %zu notes: its first create took effect and its reply was lost, "
      "then it was tried again - a create retried - chapter 06",
      written);
  EXPECT_TRUE(call.completed && call.error)
      << "create_note() did not report the connection reset of its only create";
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
    EXPECT_EQ(std::string(e.what()).rfind("reading note 3", 0), 0u) << format(
        "the error says \"%s\"; the header promises a text that begins with what was done "
        "(\"reading note 3\"), so that a caller can match on it - context not at the start of "
        "the error - chapter 10",
        e.what());
    try {
      std::rethrow_if_nested(e);
      ADD_FAILURE() << "the error \"" << e.what()
                    << "\" nests no error: the database's own (a mockdb::DatabaseError, SQLSTATE "
                       "42501, with the server's diagnostics) was dropped. Wrap it with "
                       "std::throw_with_nested - the database's error not nested - chapter 10";
    } catch (const mockdb::DatabaseError& cause) {
      EXPECT_EQ(cause.diagnostics().sqlstate, "42501")
          << "the nested error's SQLSTATE is \"" << cause.diagnostics().sqlstate
          << "\", not the database's 42501 - the database's error not nested - chapter 10";
    } catch (const std::exception& cause) {
      ADD_FAILURE() << "the error nests \"" << cause.what()
                    << "\", not the database's own mockdb::DatabaseError - the database's error "
                       "not nested - chapter 10";
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "read_note(3) threw " << e.what() << ", not a system_error";
  }
}

TEST_F(Capstone, TransientErrorsAreRetriedWithinABudget) {
  const ch16::Policy policy;
  db.set_latency(OpKind::read, mockdb::Latency::fixed(1ms));
  db.fail_next(20, mockdb::Errc::connection_reset, OpKind::read);
  ch16::NotesService& service = make_service(policy);
  const auto start = Clock::now();
  const auto call = run(service.read_note(9));
  const std::size_t attempts = recorder.reads_of(9).size();
  EXPECT_EQ(attempts, static_cast<std::size_t>(policy.max_attempts)) << format(
      "read_note(9) made %zu attempts against a run of 20 connection resets; expected it to "
      "give up after %d (the policy's max_attempts) - no attempt budget - chapter 06",
      attempts, policy.max_attempts);
  EXPECT_TRUE(call.completed && call.error) << "read_note(9) did not report the failure";
  const auto retries = service.stats().retries;
  EXPECT_EQ(retries, static_cast<std::uint64_t>(policy.max_attempts - 1)) << format(
      "read_note(9) made %zu attempts and counted %llu retries; an operation that spends its "
      "budget of %d attempts retried %d times: the failure that ends it counts no retry - "
      "retries miscounted on giving up - chapter 06",
      attempts, static_cast<unsigned long long>(retries), policy.max_attempts,
      policy.max_attempts - 1);
  const auto at = recorder.reads_of(9);
  if (call.completed && !at.empty()) {
    const auto gave_up = start + call.took - at.back();
    EXPECT_LE(gave_up, 1ms + policy.backoff_base / 4) << format(
        "read_note(9) reported its failure %.2f ms after its last attempt began (the read takes "
        "1 ms): it waited a backoff after the last attempt, for a retry it would never make. "
        "Give up as soon as the budget is spent - a wait before giving up - chapter 06",
        ms(gave_up));
  }
}

TEST_F(Capstone, EveryKindOfTransientErrorSharesOneBudget) {
  const ch16::Policy policy;
  db.set_latency(OpKind::read, mockdb::Latency::fixed(1ms));
  db.fail_next(3, mockdb::Errc::connection_reset, OpKind::read);
  db.hang_next(3, OpKind::read);  // after the resets: three reads that never answer
  ch16::NotesService& service = make_service(policy);
  const auto call = run(service.read_note(9));
  const std::size_t attempts = recorder.reads_of(9).size();
  EXPECT_LE(attempts, static_cast<std::size_t>(policy.max_attempts)) << format(
      "read_note(9) made %zu attempts against 3 connection resets and then 3 reads that never "
      "answer; the budget is %d attempts, whatever each failure was - an attempt budget per "
      "kind of error - chapter 06",
      attempts, policy.max_attempts);
  EXPECT_GE(attempts, static_cast<std::size_t>(policy.max_attempts)) << format(
      "read_note(9) gave up after %zu attempts, the last one a read that never answered, with "
      "%d attempt(s) of its budget left: a timeout is transient (mockdb::is_transient says so) - "
      "a timeout not retried - chapter 06",
      attempts, policy.max_attempts - static_cast<int>(attempts));
  ASSERT_TRUE(call.completed) << "read_note(9) never completed";
  ASSERT_TRUE(call.error) << format(
      "read_note(9) returned a note after %zu attempts; the budget of %d ended with a timeout "
      "- an attempt budget per kind of error - chapter 06",
      attempts, policy.max_attempts);
  try {
    std::rethrow_exception(call.error);
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), mockdb::ErrorClass::timed_out)
        << "read_note(9) failed with " << e.code().message()
        << ", not the timeout of its last attempt";
  } catch (const std::exception& e) {
    ADD_FAILURE() << "read_note(9) threw " << e.what() << ", not a system_error";
  }
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
    bool jitter_reported =
        false;  // once per note: a retry storm would repeat it thousands of times
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
      // The wait after failure k (the gap less the 1 ms read) is drawn from [c/2, c],
      // c = min(base x 2^(k-1), cap).
      const auto ceiling = std::min(
          policy.backoff_base * (Clock::duration::rep{1} << std::min<std::size_t>(k - 1, 20)),
          policy.backoff_cap);
      const auto wait = gap - 1ms;
      if (jitter_reported || (wait >= ceiling / 2 && wait <= ceiling)) continue;
      jitter_reported = true;
      ADD_FAILURE() << format(
          "note %lld waited %.2f ms after its attempt %zu failed; the header's rule is a wait "
          "drawn from the upper half of min(base x 2^(k-1), cap), here %.1f to %.1f ms: a "
          "wait drawn from zero can retry at once, and several clients with it - jitter outside "
          "the upper half - chapter 06",
          static_cast<long long>(id), ms(wait), k, ms(ceiling / 2), ms(ceiling));
    }
  }
  EXPECT_TRUE(recorder.reads_of(11) != recorder.reads_of(12))
      << "notes 11 and 12 failed together and retried at the very same instants: the waits "
         "have no jitter (or each call draws the same numbers), so clients that fail together "
         "come back together - retries in lockstep - chapter 06";
  EXPECT_TRUE(call.completed && call.error) << "the batch did not fail in a 1 s outage";
}

TEST_F(Capstone, EachOperationsBackoffStartsFromTheBase) {
  const ch16::Policy policy;
  db.set_latency(OpKind::read, mockdb::Latency::fixed(1ms));
  db.fail_next(static_cast<std::size_t>(policy.max_attempts), mockdb::Errc::connection_reset,
               OpKind::read);
  ch16::NotesService& service = make_service(policy);
  const auto first = run(service.read_note(9));  // spends its budget: 4 retries
  ASSERT_TRUE(first.completed && first.error) << "read_note(9) did not fail after its budget";
  db.fail_next(1, mockdb::Errc::connection_reset, OpKind::read);
  const auto second = run(service.read_note(10));
  EXPECT_TRUE(second.completed && !second.error && second.value && *second.value)
      << "read_note(10) did not return note 10 after one connection reset";
  const auto at = recorder.reads_of(10);
  ASSERT_EQ(at.size(), 2u) << "read_note(10) made " << at.size()
                           << " attempts against one connection reset; expected 2";
  const auto wait = at[1] - at[0] - 1ms;
  EXPECT_LE(wait, policy.backoff_base) << format(
      "read_note(10) failed once and waited %.2f ms before its second attempt; a first retry "
      "waits at most backoff_base (%.0f ms), whatever other operations did before: the "
      "exponent counts this operation's attempts, not the service's retries - backoff exponent "
      "shared across operations - chapter 06",
      ms(wait), ms(policy.backoff_base));
}

// The instants, from its start, at which read_notes({11, 12}) tried each note through a 1 s
// outage, on a database and a service of its own, the service seeded with `seed`.
std::vector<std::pair<std::string, Clock::duration>> outage_timeline(std::uint64_t seed) {
  mockdb::MockDatabase db{mockdb::MockConfig{.max_connections = 0}};
  db.set_latency(OpKind::read, mockdb::Latency::fixed(1ms));
  Recorder recorder{db};
  ch16::Policy policy;
  policy.max_attempts = 8;
  policy.seed = seed;
  ch16::NotesService service(recorder, policy);
  asio::io_context ctx;  // last: destroyed first
  const auto start = Clock::now();
  db.outage(0ms, 1s);
  try {
    (void)workbook::run_to_completion(ctx, service.read_notes({11, 12}));
  } catch (...) {
    // The batch fails in the outage; only its timeline matters here.
  }
  std::vector<std::pair<std::string, Clock::duration>> timeline;
  for (const auto& s : recorder.starts) timeline.emplace_back(s.key, s.at - start);
  return timeline;
}

std::string describe(const std::vector<std::pair<std::string, Clock::duration>>& timeline) {
  std::string text;
  for (std::size_t i = 0; i < timeline.size() && i < 6; ++i) {
    text += (i ? ", " : "") + timeline[i].first + format(" at %.3f ms", ms(timeline[i].second));
  }
  return text + (timeline.size() > 6 ? ", ..." : "");
}

TEST_F(Capstone, TheJitterRepeatsWithItsSeed) {
  const auto once = outage_timeline(16);
  const auto again = outage_timeline(16);
  EXPECT_TRUE(once == again) << format(
      "two services with the same seed (16), meeting the same outage, retried at other "
      "instants (%s, then %s): the jitter must come from a generator of the service's own, "
      "seeded with Policy::seed, not one shared by the process that carries on from the last "
      "run - a jitter that does not repeat with its seed - chapter 06",
      describe(once).c_str(), describe(again).c_str());
  const auto other = outage_timeline(17);
  EXPECT_TRUE(once != other)
      << "services seeded 16 and 17 retried at the very same instants (" << describe(once)
      << "): Policy::seed is ignored - a jitter that does not repeat with its seed - chapter 06";
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

TEST_F(Capstone, ABatchReadsEveryNoteThoughSomeFail) {
  ch16::Policy policy;
  policy.max_in_flight = 4;
  db.set_latency(OpKind::read, mockdb::Latency::fixed(5ms));
  db.fail_next(4, mockdb::Errc::permission_denied, OpKind::read);  // notes 1 to 4
  ch16::NotesService& service = make_service(policy);
  std::vector<Id> ids;
  for (Id id = 1; id <= 24; ++id) ids.push_back(id);
  const auto call = run(service.read_notes(ids));
  std::size_t read = 0;
  bool once_each = true;
  for (const Id id : ids) {
    const std::size_t n = recorder.reads_of(id).size();
    read += n == 0 ? 0 : 1;
    once_each = once_each && n == 1;
  }
  EXPECT_EQ(read, ids.size()) << format(
      "read_notes() of 24 notes read %zu of them after the reads of notes 1 to 4 failed: a "
      "failed read is kept for the end, and its worker goes on to the next id. A worker that "
      "stops at a failure takes a slot from the batch for good - a worker lost at each "
      "failure - chapter 12",
      read);
  // 24 reads of 5 ms, 4 at a time, the failures included: 30 ms, within one deadline. (A
  // service that read a note twice fails another test, for that.)
  if (once_each) {
    EXPECT_LE(call.took, 30ms) << format(
        "read_notes() of 24 reads of 5 ms, 4 at a time, took %.1f ms, not 30 ms: after the "
        "first reads failed, fewer than 4 ran at once - a worker lost at each failure - "
        "chapter 12",
        ms(call.took));
  }
  ASSERT_TRUE(call.completed && call.error) << "read_notes() did not report the failed reads";
  try {
    std::rethrow_exception(call.error);
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("reading note 1:"), std::string::npos)
        << "read_notes() threw \"" << e.what()
        << "\"; expected the failure of note 1, the first failed id in the order of ids";
  }
}

TEST_F(Capstone, ABatchThrowsTheFirstFailureInTheOrderOfIds) {
  db.set_latency(OpKind::read, mockdb::Latency::fixed(1ms));
  recorder.failing_reads[21] = mockdb::Errc::connection_reset;   // fails last, its budget spent
  recorder.failing_reads[22] = mockdb::Errc::permission_denied;  // fails first, at 1 ms
  ch16::NotesService& service = make_service({});
  const auto call = run(service.read_notes({21, 22}));
  ASSERT_TRUE(call.completed && call.error) << "read_notes({21, 22}) did not fail";
  try {
    std::rethrow_exception(call.error);
  } catch (const boost::system::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("reading note 21"), std::string::npos) << format(
        "read_notes({21, 22}) threw \"%s\"; both failed, note 22 first in time, but the header "
        "promises the first failure in the order of ids: note 21's, once every read has "
        "ended - the first failure in time, not in the order of ids - chapter 10",
        e.what());
    EXPECT_EQ(e.code(), mockdb::ErrorClass::connection_failure)
        << "read_notes({21, 22}) threw " << e.code().message()
        << "; note 21 failed with a connection reset";
  } catch (const std::exception& e) {
    ADD_FAILURE() << "read_notes({21, 22}) threw " << e.what() << ", not a system_error";
  }
}

TEST_F(Capstone, ABatchLongerThanADeadlineKeepsEachReadsOwn) {
  const ch16::Policy policy;
  db.set_latency(OpKind::read, mockdb::Latency::fixed(10ms));
  ch16::NotesService& service = make_service(policy);
  std::vector<Id> ids;
  for (Id id = 1; id <= 24; ++id) ids.push_back(id);
  // 24 reads of 10 ms, 4 at a time: 60 ms, more than one deadline of 50 ms.
  const auto call = run(service.read_notes(ids));
  const auto timeouts = service.stats().timeouts;
  EXPECT_EQ(timeouts, 0u) << format(
      "%llu reads of the batch timed out, though each read takes 10 ms against a deadline of "
      "%.0f ms (the batch takes 60 ms): a read queued behind the limit starts its deadline "
      "when its attempt starts, not when the batch did - a deadline counted from the batch's "
      "start - chapter 05",
      static_cast<unsigned long long>(timeouts), ms(policy.timeout));
  EXPECT_TRUE(call.completed && !call.error && call.value)
      << "read_notes() of 24 notes of 10 ms each did not return them"
      << (call.error ? ": " + what(call.error) : std::string());
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

TEST_F(Capstone, CancellingAnExportReportsItAndLeavesNothingRunning) {
  ch16::Policy policy;
  policy.page_size = 10;
  db.set_latency(OpKind::query, mockdb::Latency::fixed(10ms));
  ch16::NotesService& service = make_service(policy);
  std::size_t handed = 0;
  ch16::NoteSink sink = [&handed](const mockdb::Row&) {
    ++handed;
    return true;
  };
  asio::cancellation_signal give_up;
  const auto start = Clock::now();
  bool ended = false;
  std::exception_ptr error;
  std::size_t returned = 0;
  asio::co_spawn(
      ctx, service.export_notes(1, sink),
      asio::bind_cancellation_slot(give_up.slot(), [&](const std::exception_ptr& e, std::size_t n) {
        ended = true;
        error = e;
        returned = n;
      }));
  auto cancel_later = [&]() -> asio::awaitable<void> {
    co_await workbook::sleep_for(15ms);  // the second page is on its way
    give_up.emit(asio::cancellation_type::terminal);
  };
  asio::co_spawn(ctx, cancel_later(), asio::detached);
  workbook::run_until_idle(ctx);
  ASSERT_TRUE(ended) << "export_notes() never ended after it was cancelled";
  if (!error) {
    ADD_FAILURE() << format(
        "export_notes(1) was cancelled at 15 ms and returned %zu as if it had finished: its "
        "caller cannot tell a cancelled export from a complete one. Let operation_aborted "
        "propagate - a cancellation swallowed - chapter 11",
        returned);
  } else {
    try {
      std::rethrow_exception(error);
    } catch (const boost::system::system_error& e) {
      EXPECT_EQ(e.code(), asio::error::operation_aborted)
          << "the cancelled export failed with " << e.code().message()
          << ", not operation_aborted - a cancellation swallowed - chapter 11";
    } catch (const std::exception& e) {
      ADD_FAILURE() << "the cancelled export threw " << e.what() << ", not a system_error";
    }
  }
  std::size_t late = 0;
  for (const auto& s : recorder.starts) late += s.at > start + 15ms ? 1 : 0;
  EXPECT_EQ(late, 0u) << format(
      "%zu queries started after the export was cancelled at 15 ms - operation still running "
      "after cancel - chapter 11",
      late);
  EXPECT_EQ(db.stats()[OpKind::query].in_flight, 0u)
      << "queries are still in flight after the cancelled export ended - operation still "
         "running after cancel - chapter 11";
  EXPECT_LE(handed, policy.page_size) << "the sink was handed notes after the cancellation";
}

// ---- chapter 09: streaming by keyset pages

TEST_F(Capstone, AnExportStreamsKeysetPages) {
  ch16::Policy policy;
  policy.page_size = 10;
  ch16::NotesService& service = make_service(policy);
  std::vector<Id> seen;
  std::size_t others = 0;
  ch16::NoteSink sink = [&seen, &others](const mockdb::Row& note) {
    if (note.at("owner").to_number<std::int64_t>() == 1) {
      seen.push_back(note.at("id").as_int64());
    } else {
      ++others;
    }
    return true;
  };
  const auto call = run(service.export_notes(1, sink));
  ASSERT_TRUE(call.completed && !call.error)
      << "export_notes(1) failed" << (call.error ? ": " + what(call.error) : std::string());
  EXPECT_EQ(others, 0u) << "export_notes(1) handed " << others
                        << " notes of another owner to the sink";
  std::size_t foreign = 0;
  for (const auto& [owner, rows] : recorder.rows_returned) foreign += owner == 1 ? 0 : rows;
  EXPECT_EQ(foreign, 0u) << format(
      "exporting owner 1's %d notes fetched %zu rows of other owners from the database, to "
      "drop them in the client. Filter by owner in the query (WHERE owner = $1) - the owner "
      "filtered in the client - chapter 09",
      kPerOwner, foreign);
  const auto disorder = std::is_sorted_until(seen.begin(), seen.end());
  if (disorder != seen.end()) {
    ADD_FAILURE() << format(
        "export_notes(1) handed note %lld after note %lld: without ORDER BY a database returns "
        "a page in any order (PostgreSQL's plan decides; the test reverses it), and the next "
        "page starts from the wrong id. Ask for ORDER BY id - a keyset page without ORDER BY "
        "- chapter 09",
        static_cast<long long>(*disorder), static_cast<long long>(*(disorder - 1)));
  }
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

TEST_F(Capstone, AnExportHandsOverEachNoteOnceWhateverItsIds) {
  // 25 notes of owner 3 with consecutive ids, after the sample's 200 interleaved ones.
  std::vector<Id> ids;
  ids.reserve(25);
  for (int i = 0; i < 25; ++i) {
    ids.push_back(workbook::run_to_completion(
        ctx, db.create(ch16::kNotesTable, mockdb::Row{{"owner", 3}, {"title", "consecutive"}})));
  }
  db.reset_stats();
  ch16::Policy policy;
  policy.page_size = 10;
  ch16::NotesService& service = make_service(policy);
  std::vector<Id> seen;
  ch16::NoteSink sink = [&seen](const mockdb::Row& note) {
    seen.push_back(note.at("id").as_int64());
    return true;
  };
  const auto call = run(service.export_notes(3, sink));
  ASSERT_TRUE(call.completed && !call.error)
      << "export_notes(3) failed" << (call.error ? ": " + what(call.error) : std::string());
  std::string missing;
  for (const Id id : ids) {
    if (std::find(seen.begin(), seen.end(), id) == seen.end()) {
      missing += (missing.empty() ? "" : ", ") + std::to_string(id);
    }
  }
  EXPECT_TRUE(missing.empty()) << format(
      "export_notes(3) of 25 notes with consecutive ids %lld to %lld, in pages of 10, skipped "
      "note(s) %s: each page must start right after the last id handed out (id > last), not "
      "one further - a keyset boundary off by one - chapter 09",
      static_cast<long long>(ids.front()), static_cast<long long>(ids.back()), missing.c_str());
  EXPECT_TRUE(seen == ids) << "export_notes(3) did not hand over notes " << ids.front() << " to "
                           << ids.back() << " once each, in id order";
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
