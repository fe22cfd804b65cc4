// Chapter 12's test, built against the pitfall and against the fix.
//
// Checks of 10 ms each (or 1 to 20 ms, to finish out of order), in virtual
// time, so ten thousand of them cost milliseconds of real time. Every batch is
// watched from outside: the database wrapper below sees each read start and
// end, and the test's on_result sees each result handed on. From those events
// the test knows, at every instant, how many checks were started and not yet
// handed on ("held": in flight, or done and waiting in a reorder window).
//
// What must hold, for both functions and any limit K:
//  - never more than K reads in flight, K results held, K check frames alive;
//    no read fails with "too many connections";
//  - no slot sits idle: whenever fewer than K are held and ids are left, the
//    next check starts at that same instant (a batch of K waiting for its
//    slowest, a sleep between launches, or one worker, all leave slots idle);
//  - every id gets exactly one result, for that id, and a failed read is that
//    id's result with its error, while the batch goes on;
//  - check_orders() hands each result on the instant its read completes;
//    check_orders_in_order() hands them on in the order of the ids;
//  - each id is read once, through check_order(), and a failed result holds
//    no row; equal ids in one window each get their own result, in turn;
//  - nothing is left running when the call returns, every result has been
//    handed on by then, and it returns at the instant its last result is
//    handed on (not after a sleep);
//  - a big batch (or a huge limit) grows the heap, at its peak over the whole
//    batch, by what min(limit, ids) checks cost, not by a frame per id made up
//    front nor a copy of every result (mallinfo2(), since Asio's frames bypass
//    operator new; not checked under AddressSanitizer, where it reads 0);
//  - two batches at once on one loop each get exactly their own results;
//  - an empty batch returns at once; a limit of 0 throws invalid_argument,
//    with ids or without; limits from 1 to 100 are tested, and 100,000.
// The gallery in wrong-fixes/ is what these checks are written against.
#include "order_checker.hpp"

#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/string.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <exception>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "workbook/clock.hpp"
#include "workbook/format.hpp"
#include "workbook/run.hpp"
#include "workbook/watchdog.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using mockdb::Id;
using mockdb::OpKind;
using workbook::format;

namespace {

constexpr auto kLatency = 10ms;
constexpr int kOrders = 10000;
// What a batch may grow the heap by, at its peak over the whole batch: per
// check the limit allows (its frames, its read in the mock, its slot), and
// once. The test keeps no row of its own (see Seen), so what grows is the
// call's. The fix grows it by 79 KiB at limit 16 and 13 KiB at limit 2 (g++,
// -O2 and -O0 alike); a frame per id made up front, by 2,100 KiB for 10,000
// ids; 512 wrapper frames made ahead, by 106 KiB more whatever the limit
// (119 KiB at limit 2, where the budget is 80 KiB: hence that case). The
// budget leaves the fix twice its figure or more.
constexpr std::size_t kHeapPerCheck = std::size_t{8} * 1024;
constexpr std::size_t kHeapSlack = std::size_t{64} * 1024;

enum class Order { completion, ids };

// What happened during one batch, in the order it happened.
struct Event {
  enum Kind { start, end, hand_on } kind;
  workbook::Clock::time_point at;
  Id id;
  std::size_t read;  // for a start or an end: which read (0 for the first started)
};

// What the test keeps of one result: no row (a row per result would grow
// the heap by the batch's size, which the heap check must see only when the
// call does it), only what the checks look at. An order's name, "order
// 10000", fits std::string's inline buffer: keeping it allocates nothing.
struct Seen {
  Id id = 0;
  boost::system::error_code error;
  bool found = false;      // it held a row
  std::size_t fields = 0;  // the row's fields
  bool named = false;      // the row had a "name" string
  std::string name;        // that name

  bool failed() const noexcept { return static_cast<bool>(error); }
};

Seen seen(const ch12::OrderResult& r) {
  Seen s;
  s.id = r.id;
  s.error = r.error;
  s.found = r.order.has_value();
  if (r.order) {
    s.fields = r.order->size();
    const auto field = r.order->find("name");
    if (field != r.order->end() && field->value().is_string()) {
      s.named = true;
      const boost::json::string& name = field->value().get_string();
      s.name.assign(name.data(), name.size());
    }
  }
  return s;
}

// One call of check_orders() or check_orders_in_order(), seen from outside.
struct Batch {
  Order order = Order::completion;
  std::string what;  // "check_orders() of 10000 ids, limit 16"
  std::vector<Id> ids;
  std::size_t limit = 0;
  std::vector<Seen> results;  // in the order handed on
  std::vector<Event> events;
  std::exception_ptr thrown;
  std::string never_completed;          // NeverCompleted's message, if the call never ended
  workbook::Clock::duration took{};     // until it returned, in virtual time
  std::size_t left_in_flight = 0;       // reads still running when it returned
  std::size_t max_in_flight = 0;        // reads, as the database counted them
  std::size_t max_frames = 0;           // check_order() frames alive at once
  std::size_t too_many = 0;             // reads that failed with too_many_connections
  std::size_t max_held = 0;             // started and not yet handed on, at most
  workbook::Clock::time_point began{};  // when the call was made, in virtual time
  bool returned = false;                // the call returned (rather than threw or hung)
  std::size_t handed_at_return = 0;     // results handed on when it returned
  std::size_t reads = 0;                // reads started
  // Heap in use when the call was made, and the most it grew by, sampled at
  // every read's start and every result handed on, over the whole batch (0
  // and false where the heap cannot be measured).
  std::size_t heap_base = 0;
  std::size_t heap_growth = 0;
  bool heap_measured = false;
};

// Bytes the heap has handed out and not taken back. glibc's count sees
// Asio's coroutine frames, which replacing operator new would miss: they come
// from Asio's recycling allocator, which takes its blocks with aligned_alloc
// (boost/asio/impl/awaitable.hpp, detail/thread_info_base.hpp, memory.hpp).
// 0 under AddressSanitizer, whose malloc glibc does not count.
std::size_t heap_in_use() {
  const struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
}

// Notes how far the heap has grown since the call began. The test's own
// vectors are reserved up front and its Seen records allocate nothing, so
// what grew is the call's: its frames, its checks, their reads, and whatever
// it keeps.
// The budget of the heap check, and whether a batch gets the check: big
// batches (or limits) only, where the right and the wrong differ by a
// thousand frames or more.
std::size_t heap_budget(const Batch& b) {
  return kHeapSlack + std::min(b.limit, b.ids.size()) * kHeapPerCheck;
}
bool heap_checked(const Batch& b) { return b.ids.size() >= 1000 || b.limit >= 1000; }

// mallinfo2() walks glibc's free lists, so it costs more the more chunks a
// batch has freed: once the budget is exceeded the test knows enough and
// stops sampling (the pitfall's 10,000 frames would cost seconds).
void sample_heap(Batch& b) {
  if (!b.heap_measured || b.heap_growth > heap_budget(b)) return;
  const std::size_t now = heap_in_use();
  if (now > b.heap_base) b.heap_growth = std::max(b.heap_growth, now - b.heap_base);
}

// Hands a result on to the test: notes it, and samples the heap while the
// call still holds whatever it keeps.
void hand_on(Batch& b, const ch12::OrderResult& r) {
  b.events.push_back({Event::hand_on, workbook::Clock::now(), r.id, 0});
  b.results.push_back(seen(r));
  sample_heap(b);
}

// Awaits one call and notes, the moment it returns, how many results it has
// handed on: all of them, if it waited for its last ones itself.
asio::awaitable<void> observe_return(asio::awaitable<void> call, Batch& b) {
  co_await std::move(call);
  b.returned = true;
  b.handed_at_return = b.results.size();
}

// A database that tells the test when each read starts and ends (and how much
// the heap has grown when it starts); every other operation goes straight to
// the mock.
class WatchedDatabase final : public mockdb::DatabaseService {
 public:
  WatchedDatabase(mockdb::MockDatabase& inner, Batch& batch)
      : inner_(inner), batch_(batch), events_(batch.events) {}

  asio::awaitable<std::unique_ptr<mockdb::Connection>> connect() override {
    return inner_.connect();
  }
  asio::awaitable<Id> create(std::string table, mockdb::Row row) override {
    return inner_.create(std::move(table), std::move(row));
  }
  asio::awaitable<std::optional<mockdb::Row>> read(std::string table, Id id) override {
    const std::size_t nth = batch_.reads++;
    events_.push_back({Event::start, workbook::Clock::now(), id, nth});
    sample_heap(batch_);
    std::optional<mockdb::Row> row;
    std::exception_ptr failure;
    try {
      row = co_await inner_.read(std::move(table), id);
    } catch (...) {
      failure = std::current_exception();
    }
    events_.push_back({Event::end, workbook::Clock::now(), id, nth});
    if (failure) std::rethrow_exception(failure);
    co_return row;
  }
  asio::awaitable<bool> update(std::string table, Id id, mockdb::Row fields) override {
    return inner_.update(std::move(table), id, std::move(fields));
  }
  asio::awaitable<bool> remove(std::string table, Id id) override {
    return inner_.remove(std::move(table), id);
  }
  asio::awaitable<mockdb::Rows> query(std::string sql, mockdb::Params params) override {
    return inner_.query(std::move(sql), std::move(params));
  }

 private:
  mockdb::MockDatabase& inner_;
  Batch& batch_;
  std::vector<Event>& events_;
};

class BoundedConcurrency : public testing::Test {
 protected:
  explicit BoundedConcurrency(int orders = 1000) {
    workbook::run_to_completion(ctx, ch12::add_sample_orders(db, orders), "adding sample orders");
    db.set_latency(OpKind::read, mockdb::Latency::fixed(kLatency));
    db.reset_stats();
    db.trace().clear();
    // The trace keeps its pending spans (what a hung batch was waiting for)
    // and only the last few ended ones: a span per read kept for the whole
    // batch would grow the heap by 200 bytes per id, which the heap check
    // would blame on the call.
    db.trace().set_capacity(64);
  }

  // Runs one batch of `ids` with `limit` to its end and observes it.
  Batch run(Order order, std::vector<Id> ids, std::size_t limit) {
    Batch b;
    b.order = order;
    b.ids = ids;
    b.limit = limit;
    b.what = format("%s of %zu ids, limit %zu",
                    order == Order::ids ? "check_orders_in_order()" : "check_orders()", ids.size(),
                    limit);
    WatchedDatabase watched(db, b);
    ch12::OnResult on_result = [&b](const ch12::OrderResult& r) { hand_on(b, r); };
    db.reset_stats();
    ch12::reset_check_frames();
    b.events.reserve(3 * b.ids.size() + 16);  // no growth of the test's own while measuring
    b.results.reserve(b.ids.size() + 16);
    b.heap_base = heap_in_use();
    b.heap_measured = b.heap_base != 0 && heap_checked(b);
    const auto start = workbook::Clock::now();
    b.began = start;
    {
      workbook::Watchdog watchdog(10s, b.what);
      try {
        workbook::run_to_completion(
            ctx,
            observe_return(
                order == Order::ids
                    ? ch12::check_orders_in_order(watched, std::move(ids), limit, on_result)
                    : ch12::check_orders(watched, std::move(ids), limit, on_result),
                b),
            b.what);
      } catch (const workbook::NeverCompleted& e) {
        b.never_completed = e.what();
      } catch (...) {
        b.thrown = std::current_exception();
      }
      b.took = workbook::Clock::now() - start;
      const mockdb::Stats stats = db.stats();
      b.left_in_flight = stats[OpKind::read].in_flight;
      b.max_in_flight = stats[OpKind::read].max_in_flight;
      b.max_frames = ch12::check_frames().max_live;
      // Whatever the call left running ends now, while `b` and `watched`
      // exist, and not during the next case, which it would be blamed on.
      if (b.never_completed.empty()) workbook::run_until_idle(ctx);
    }
    for (const auto& r : b.results) {
      if (r.error == mockdb::Errc::too_many_connections) ++b.too_many;
    }
    std::size_t held = 0;
    for (const Event& e : b.events) {
      if (e.kind == Event::start) b.max_held = std::max(b.max_held, ++held);
      if (e.kind == Event::hand_on && held > 0) --held;
    }
    return b;
  }

  // The call ended (returned), handed every result on, and left nothing running.
  static bool expect_finished(const Batch& b) {
    if (!b.never_completed.empty()) {
      ADD_FAILURE() << b.what
                    << format(" never completed: %zu of %zu results handed on, ", b.results.size(),
                              b.ids.size())
                    << format("%zu reads in flight", b.left_in_flight)
                    << (b.ids.empty()
                            ? ". With no ids there is nothing to wait for: a parallel group of "
                              "zero workers (or a join that waits for a first result) never "
                              "completes. Return at once when there are no ids.\n"
                            : ". Nothing was left to wake it: a token never given back (by a "
                              "check that failed before releasing it?), or, in the ids' order, "
                              "a result that never reached its place (kept under its id, where "
                              "an equal id's result overwrote it, or in a slot reused while its "
                              "check was still in it) stops the batch for good.\n")
                    << b.never_completed;
      return false;
    }
    if (b.thrown) {
      try {
        std::rethrow_exception(b.thrown);
      } catch (const std::exception& e) {
        ADD_FAILURE() << b.what << " threw \"" << e.what()
                      << "\"; expected it to return: a failed check is that id's result, "
                         "not the batch's end";
      }
      return false;
    }
    if (b.left_in_flight != 0) {
      ADD_FAILURE() << b.what
                    << format(" returned after %.0f ms while %zu reads were still in flight",
                              workbook::to_ms(b.took), b.left_in_flight)
                    << "; expected every check it started to have ended and been handed on.";
      return false;
    }
    if (b.returned && b.results.size() > b.handed_at_return) {
      ADD_FAILURE() << b.what
                    << format(
                           " returned at %.3f ms having handed on %zu of %zu results; the other "
                           "%zu were handed on after it returned",
                           workbook::to_ms(b.took), b.handed_at_return, b.ids.size(),
                           b.results.size() - b.handed_at_return)
                    << ". Expected every result to have been handed on when the call returns: "
                       "the caller may act on the batch being done (or destroy on_result) "
                       "the moment it returns. Call on_result yourself, before returning, "
                       "not from a posted handler or a detached coroutine.";
      return false;
    }
    // It returns when its last check has been handed on: at that instant,
    // not after a timer set to be "long enough".
    const workbook::Clock::time_point returned = b.began + b.took;
    workbook::Clock::time_point last = b.began;
    for (const Event& e : b.events) last = std::max(last, e.at);
    if (returned > last) {
      ADD_FAILURE() << b.what
                    << format(
                           " returned at %.3f ms, %.3f ms after its last result was handed on "
                           "(at %.3f ms); expected it to return at that instant",
                           workbook::to_ms(returned - b.began), workbook::to_ms(returned - last),
                           workbook::to_ms(last - b.began))
                    << ".\nWait for the last checks themselves (join the workers, take every "
                       "token back), not for a sleep: a sleep is too long for fast reads, and "
                       "too short for a slow one, whose result then comes after the call "
                       "returned.";
      return false;
    }
    return true;
  }

  // Never more than the limit: reads in flight, results held, frames alive.
  static void expect_within_limit(const Batch& b) {
    if (b.max_in_flight > b.limit) {
      ADD_FAILURE() << b.what
                    << format(
                           " had %zu reads in flight at once, over the limit (max in flight "
                           "%zu, limit %zu)",
                           b.max_in_flight, b.max_in_flight, b.limit)
                    << format(", with %zu check_order() frames alive at once", b.max_frames)
                    << (b.too_many ? format(", and %zu reads failed with \"too many connections\"",
                                            b.too_many)
                                   : std::string())
                    << ".\nStart a check only when one of the running ones has ended: "
                       "`limit` workers that each take the next id, or a token per check from "
                       "a channel of capacity `limit`.";
      return;
    }
    if (b.reads > b.ids.size()) {
      expect_one_read_per_id(b);
      return;
    }
    if (b.max_held > b.limit) {
      ADD_FAILURE() << b.what
                    << format(
                           " held %zu results at once (started and not yet handed on); "
                           "expected %s, %zu",
                           b.max_held,
                           b.order == Order::ids ? "a reorder window of at most the limit"
                                                 : "at most the limit",
                           b.limit)
                    << (b.order == Order::ids
                            ? ".\nA check that finished early waits for the earlier ones, and "
                              "counts against the limit while it waits: start the next check "
                              "only once the oldest result has been handed on."
                            : ".\nA check counts against the limit until its result has been "
                              "handed on: hand each result on as soon as its read completes, "
                              "and only then start the next check.");
    }
    if (b.max_frames > b.limit) {
      ADD_FAILURE() << b.what
                    << format(
                           " had %zu check_order() frames alive at once, for %zu in flight; "
                           "expected at most the limit, %zu",
                           b.max_frames, b.max_in_flight, b.limit)
                    << ".\nA check created ahead of time (a vector of awaitables, a deferred "
                       "co_spawn) holds its frame before it runs: create each check when it "
                       "starts.";
    }
    expect_heap_within_limit(b);
    EXPECT_EQ(b.too_many, 0u) << b.what << " had " << b.too_many
                              << " reads fail with \"too many connections\"";
  }

  // Each id asked was read once (twice if asked twice): no retry, no cache.
  static void expect_one_read_per_id(const Batch& b) {
    std::map<Id, long> reads;  // per id: +1 per time asked, -1 per read
    for (const Id id : b.ids) ++reads[id];
    for (const Event& e : b.events) {
      if (e.kind == Event::start) --reads[e.id];
    }
    for (const auto& [id, owed] : reads) {
      if (owed == 0) continue;
      ADD_FAILURE() << b.what << format(" made %zu reads for %zu ids: ", b.reads, b.ids.size())
                    << "order " << id
                    << (owed < 0 ? format(" was read %ld time(s) more than asked", -owed)
                                 : format(" was read %ld time(s) fewer than asked", owed))
                    << (owed < 0 ? "; expected one read per id asked. A failed read is that id's "
                                   "result (with its error), handed on once; retrying is the "
                                   "caller's choice, not the batch's."
                                 : "; expected one read per id asked, on every call. Results kept "
                                   "from an earlier call (a cache) may be stale: read each id.");
      return;
    }
  }

  // Every id is checked with check_order() (order_checker.hpp), which turns a
  // failed read into an OrderResult with no row and whose frames the test
  // counts: a worker that reads for itself escapes the frame count.
  static void expect_checked_with_check_order(const Batch& b) {
    if (b.reads == 0 || b.max_frames > 0) return;
    ADD_FAILURE() << b.what
                  << format(
                         " made %zu reads for %zu ids, and check_order() was never called "
                         "(check_frames() counted 0 frames)",
                         b.reads, b.ids.size())
                  << "; expected each id to be checked with check_order(), the provided "
                     "check (order_checker.hpp): it builds each result afresh, with no row "
                     "when the read fails, and the test counts its frames against the limit. "
                     "Await check_order(db, id) instead of calling db.read yourself.";
  }

  // The heap grew by what `limit` checks cost, not by what all the ids would:
  // a coroutine frame created up front for every id (a wrapper around
  // check_order(), not yet started) is not a check_order() frame, and
  // check_frames() cannot see it; nor is a copy of every result kept for the
  // end, nor a slot per id. Big batches (or limits) only: there the right and
  // the wrong differ by a thousand frames or more. A limit above the number
  // of ids costs what ids.size() checks cost. Allocation sizes are the same
  // on every run of one build, so the figure is too.
  static void expect_heap_within_limit(const Batch& b) {
    if (!heap_checked(b)) return;
    if (!b.heap_measured) {
      std::cout << "note: " << b.what
                << ": heap growth not checked, mallinfo2() reads 0 here (AddressSanitizer "
                   "replaces malloc); the other builds check it.\n";
      return;
    }
    const std::size_t checks = std::min(b.limit, b.ids.size());
    const std::size_t budget = heap_budget(b);
    if (b.heap_growth > budget) {
      ADD_FAILURE() << b.what
                    << format(
                           " grew the heap by %.1f KiB (or more: sampling stops there) during "
                           "the batch, with %zu reads in flight at most; expected at most %zu KiB "
                           "(%zu KiB per check that can run at once, min(limit, ids) = %zu, plus "
                           "%zu KiB)",
                           static_cast<double>(b.heap_growth) / 1024, b.max_in_flight,
                           budget / 1024, kHeapPerCheck / 1024, checks, kHeapSlack / 1024)
                    << format(
                           ".\nThat is %zu bytes per id, or %zu per unit of the limit: memory "
                           "that grows with the batch or with the limit, not with the checks "
                           "that run: the cost of coroutine frames created up front or made "
                           "ahead (a vector of awaitables or of deferred co_spawns holds a frame "
                           "per entry before it runs, and check_frames() counts only "
                           "check_order()'s, not a wrapper's), of a copy of every result, of a "
                           "slot per id never freed, or of `limit` workers for a few ids. "
                           "Create each check when it starts, free each slot when its result "
                           "is handed on, keep nothing per id, and start at most "
                           "min(limit, ids.size()) workers.",
                           b.ids.empty() ? std::size_t{0} : b.heap_growth / b.ids.size(),
                           b.heap_growth / std::max<std::size_t>(b.limit, 1));
    }
  }

  // No slot sat idle while ids were waiting, and the limit was used.
  static void expect_slots_busy(const Batch& b) {
    const std::size_t n = b.ids.size();
    if (b.reads < n) return;  // expect_one_read_per_id() says which id was not read
    if (b.max_in_flight == 1 && b.limit > 1 && n > 1) {
      ADD_FAILURE() << b.what
                    << format(
                           " ran 1 check at a time, for %zu ids (%zu reads), in %.0f ms; "
                           "expected up to %zu at once",
                           n, b.reads, workbook::to_ms(b.took), std::min(b.limit, n))
                    << ": that is serial work whatever the limit. Start `limit` workers (or "
                       "allow `limit` tokens), not one.";
      return;
    }
    std::size_t started = 0;
    std::size_t held = 0;
    for (std::size_t i = 0; i < b.events.size(); ++i) {
      const Event& e = b.events[i];
      if (e.kind == Event::start) ++started, ++held;
      if (e.kind == Event::hand_on && held > 0) --held;
      const bool last_at_this_instant = i + 1 == b.events.size() || b.events[i + 1].at != e.at;
      if (!last_at_this_instant || started >= n) continue;
      const std::size_t want = std::min(b.limit, held + (n - started));
      if (held < want) {
        ADD_FAILURE() << b.what
                      << format(
                             ": at %.0f ms, %zu of %zu slots sat idle while %zu ids were "
                             "waiting",
                             workbook::to_ms(e.at.time_since_epoch()), want - held, b.limit,
                             n - started)
                      << format(" (the batch took %.0f ms, %zu reads in flight at most)",
                                workbook::to_ms(b.took), b.max_in_flight)
                      << ".\nStart the next check the instant one ends: batches of `limit` "
                         "wait for their slowest check, a sleep between launches waits for "
                         "nothing, and one worker is serial work whatever the limit.";
        return;
      }
    }
  }

  // Every id got exactly one result, for that id and holding that order.
  static void expect_each_once(const Batch& b) {
    std::map<Id, long> owed;  // results owed per id: +1 per time asked, -1 per result
    for (const Id id : b.ids) ++owed[id];
    for (const auto& r : b.results) --owed[r.id];
    for (const auto& [id, count] : owed) {
      if (count > 0) {
        ADD_FAILURE() << b.what
                      << format(" handed on %zu results for %zu ids: ", b.results.size(),
                                b.ids.size())
                      << "order " << id << " got " << count
                      << " result(s) fewer than asked; expected exactly one result per id.";
        return;
      }
      if (count < 0) {
        ADD_FAILURE() << b.what
                      << format(" handed on %zu results for %zu ids: ", b.results.size(),
                                b.ids.size())
                      << "order " << id << " got " << -count
                      << " result(s) more than asked; expected exactly one result per id.";
        return;
      }
    }
    for (std::size_t i = 0; i < b.results.size(); ++i) {
      const Seen& r = b.results[i];
      if (r.failed() && r.found) {
        ADD_FAILURE() << b.what
                      << format(": result %zu, for order %lld, failed (\"%s\") yet holds a row", i,
                                static_cast<long long>(r.id), r.error.message().c_str())
                      << (r.named ? " (\"" + r.name + "\")" : std::string())
                      << "; expected a failed result to hold no row. A result reused from one "
                         "id to the next keeps the previous order's row when a read fails: "
                         "hand on the OrderResult that check_order() returns, a fresh one per "
                         "id.";
        return;
      }
      if (r.failed() || !r.found) continue;
      if (!r.named) {
        ADD_FAILURE() << b.what
                      << format(": result %zu, for order %lld, ", i, static_cast<long long>(r.id))
                      << format("holds a row without a name (%zu fields)", r.fields)
                      << "; expected the row its read returned, with the order's name. The row "
                         "was lost between check_order() and on_result (a result moved from "
                         "twice, a copy taken before it was filled in, or a value passed "
                         "through something that does not keep it): hand on the OrderResult "
                         "that check_order() returned.";
        return;
      }
      if (r.name != ch12::order_name(r.id)) {
        ADD_FAILURE() << b.what << ": the result for order " << r.id << " holds \"" << r.name
                      << "\"; expected \"" << ch12::order_name(r.id)
                      << "\": each result must hold what its own id's read returned.";
        return;
      }
    }
  }

  // check_orders(): each result handed on the instant its read completed (an
  // id asked twice has two reads: its results match them in any order).
  static void expect_completion_order(const Batch& b) {
    std::map<Id, std::vector<workbook::Clock::time_point>> ended;  // reads not yet matched
    for (const Event& e : b.events) {
      if (e.kind == Event::end) ended[e.id].push_back(e.at);
    }
    for (const Event& e : b.events) {
      if (e.kind != Event::hand_on || ended[e.id].empty()) continue;
      auto& ends = ended[e.id];
      const auto same = std::find(ends.begin(), ends.end(), e.at);
      if (same == ends.end()) {
        ADD_FAILURE() << b.what << ": the result for order " << e.id
                      << format(" was handed on at %.0f ms; its read completed at %.0f ms",
                                workbook::to_ms(e.at.time_since_epoch()),
                                workbook::to_ms(ends.front().time_since_epoch()))
                      << ". check_orders() hands each result on as soon as its check "
                         "completes (completion order), not after the others.";
        return;
      }
      ends.erase(same);
    }
  }

  // check_orders_in_order(): results in the order of the ids.
  static void expect_order_of_ids(const Batch& b) {
    for (std::size_t i = 0; i < std::min(b.ids.size(), b.results.size()); ++i) {
      if (b.results[i].id != b.ids[i]) {
        ADD_FAILURE() << b.what
                      << format(": result %zu is for order %lld; expected order %lld", i,
                                static_cast<long long>(b.results[i].id),
                                static_cast<long long>(b.ids[i]))
                      << ": check_orders_in_order() hands results on in the order of the ids "
                         "(hold a result that came early until the earlier ones are in).";
        return;
      }
    }
  }

  // Failed reads are the failed ids' results; the others hold their orders.
  void expect_failures_reported(const Batch& b) const {
    const std::size_t failed_reads = db.stats()[OpKind::read].failed;
    std::size_t failed_results = 0;
    for (const auto& r : b.results) {
      if (r.failed()) {
        ++failed_results;
        if (r.error != mockdb::Errc::connection_reset) {
          ADD_FAILURE() << b.what << ": order " << r.id << " failed with \"" << r.error.message()
                        << "\"; expected the error the test injected, connection_reset";
          return;
        }
      } else if (!r.found) {
        ADD_FAILURE() << "order " << r.id << " exists, yet its result holds neither the order "
                      << "nor an error";
        return;
      }
    }
    if (failed_results != failed_reads) {
      ADD_FAILURE() << b.what
                    << format(": %zu reads failed, and %zu results say so", failed_reads,
                              failed_results)
                    << "; expected each failed read to be reported in its id's result.";
    }
  }

  // Every check of both functions.
  void expect_correct(const Batch& b, Order order) {
    if (!expect_finished(b)) {
      expect_within_limit(b);
      return;
    }
    expect_within_limit(b);
    if (b.reads < b.ids.size()) expect_one_read_per_id(b);
    expect_checked_with_check_order(b);
    expect_each_once(b);
    expect_slots_busy(b);
    if (order == Order::completion) expect_completion_order(b);
    if (order == Order::ids) expect_order_of_ids(b);
  }

  // Two calls of the same function on the loop at once, each with its own
  // ids, limit and on_result (the benchmark runs four at once).
  std::vector<Batch> run_two(Order order, std::vector<Id> first, std::vector<Id> second,
                             std::size_t limit) {
    std::vector<Batch> batches(2);
    batches[0].ids = std::move(first);
    batches[1].ids = std::move(second);
    for (Batch& b : batches) {
      b.order = order;
      b.limit = limit;
      b.what =
          format("%s of %zu ids, limit %zu, run at the same time as one of %zu ids,",
                 order == Order::ids ? "check_orders_in_order()" : "check_orders()", b.ids.size(),
                 limit, (&b == &batches[0] ? batches[1] : batches[0]).ids.size());
    }
    WatchedDatabase watched_first(db, batches[0]);
    WatchedDatabase watched_second(db, batches[1]);
    auto hand_on_to = [](Batch& b) {
      return ch12::OnResult([&b](const ch12::OrderResult& r) { hand_on(b, r); });
    };
    auto call = [order](mockdb::DatabaseService& watched, const Batch& b, ch12::OnResult f) {
      return order == Order::ids
                 ? ch12::check_orders_in_order(watched, b.ids, b.limit, std::move(f))
                 : ch12::check_orders(watched, b.ids, b.limit, std::move(f));
    };
    auto first_call = call(watched_first, batches[0], hand_on_to(batches[0]));
    auto second_call = call(watched_second, batches[1], hand_on_to(batches[1]));
    const std::string what = batches[0].what + " and the other";
    workbook::Watchdog watchdog(10s, what);
    try {
      workbook::run_to_completion(ctx, both(std::move(first_call), std::move(second_call)), what);
      workbook::run_until_idle(ctx);  // what they left running ends before the next case
    } catch (const workbook::NeverCompleted& e) {
      batches[0].never_completed = e.what();
    } catch (...) {
      batches[0].thrown = std::current_exception();
    }
    return batches;
  }

  static asio::awaitable<void> both(asio::awaitable<void> first, asio::awaitable<void> second) {
    using namespace asio::experimental::awaitable_operators;
    co_await (std::move(first) && std::move(second));
  }

  static std::vector<Id> first_ids(int n) {
    std::vector<Id> ids;
    for (Id id = 1; id <= n; ++id) ids.push_back(id);
    return ids;
  }

  workbook::VirtualTime time;
  asio::io_context ctx;
  mockdb::MockDatabase db;  // the default connection limit: 100
};

// The pitfall's own test: ten thousand ids against a connection limit of 100.
class TenThousand : public BoundedConcurrency {
 protected:
  TenThousand() : BoundedConcurrency(kOrders) {}
};

TEST_F(TenThousand, ChecksStayWithinTheLimit) {
  const Batch b = run(Order::completion, first_ids(kOrders), 16);
  expect_correct(b, Order::completion);
}

// The same for the ids' order, with 2,000 ids: still twenty times the
// connection limit, and the window's channel per check makes 10,000 cost
// 1.7 s of real time under AddressSanitizer (0.4 s without).
class TwoThousand : public BoundedConcurrency {
 protected:
  TwoThousand() : BoundedConcurrency(2000) {}
};

TEST_F(TwoThousand, ChecksInOrderStayWithinTheWindow) {
  const Batch b = run(Order::ids, first_ids(2000), 16);
  expect_correct(b, Order::ids);
}

// Sizes that differ from the ones above: limits of 1, 3, 5, 8, 64, 100 (the
// database's connection limit, above any fixed ring of 64), and batches
// smaller than the limit, with reads of 1 to 20 ms.
struct Size {
  int n;
  std::size_t limit;
};

void PrintTo(const Size& size, std::ostream* out) {
  *out << size.n << " ids, limit " << size.limit;
}

class UnevenReads : public BoundedConcurrency, public testing::WithParamInterface<Size> {
 protected:
  UnevenReads() { db.set_latency(OpKind::read, mockdb::Latency::uniform(1ms, 20ms)); }
};

TEST_P(UnevenReads, CompletionOrderKeepsEverySlotBusy) {
  const Batch b = run(Order::completion, first_ids(GetParam().n), GetParam().limit);
  expect_correct(b, Order::completion);
}

TEST_P(UnevenReads, IdsOrderKeepsTheWindowFull) {
  const Batch b = run(Order::ids, first_ids(GetParam().n), GetParam().limit);
  expect_correct(b, Order::ids);
}

INSTANTIATE_TEST_SUITE_P(Sizes, UnevenReads,
                         testing::Values(Size{200, 8}, Size{37, 5}, Size{6, 16}, Size{300, 3},
                                         Size{50, 1}, Size{500, 64}, Size{300, 100}),
                         [](const auto& info) {
                           return format("n%d_limit%zu", info.param.n, info.param.limit);
                         });

TEST_F(BoundedConcurrency, FailedChecksAreReportedAndTheBatchGoesOn) {
  db.set_latency(OpKind::read, mockdb::Latency::uniform(1ms, 20ms));
  db.fail_randomly(0.2, mockdb::Errc::connection_reset, OpKind::read);
  const Batch b = run(Order::completion, first_ids(300), 8);
  expect_correct(b, Order::completion);
  expect_failures_reported(b);
}

TEST_F(BoundedConcurrency, FailedChecksInOrderAreReportedAndTheBatchGoesOn) {
  db.set_latency(OpKind::read, mockdb::Latency::uniform(1ms, 20ms));
  db.fail_randomly(0.2, mockdb::Errc::connection_reset, OpKind::read);
  const Batch b = run(Order::ids, first_ids(300), 8);
  expect_correct(b, Order::ids);
  expect_failures_reported(b);
}

TEST_F(BoundedConcurrency, TheFirstCheckFailingStopsNothing) {
  db.fail_next(1, mockdb::Errc::connection_reset, OpKind::read);
  const Batch b = run(Order::completion, first_ids(40), 4);
  expect_correct(b, Order::completion);
  expect_failures_reported(b);
}

TEST_F(BoundedConcurrency, IdsAskedTwiceGetTwoResults) {
  db.set_latency(OpKind::read, mockdb::Latency::uniform(1ms, 20ms));
  const std::vector<Id> ids{7, 3, 7, 99999, 1, 3, 12, 7};  // 99999 does not exist
  for (const Order order : {Order::completion, Order::ids}) {
    const Batch b = run(order, ids, 3);
    expect_correct(b, order);
    for (const auto& r : b.results) {
      EXPECT_EQ(r.found, r.id != 99999)
          << b.what << ": order " << r.id << (r.found ? " was found" : " was not found");
    }
  }
}

// Equal ids in one window, with reads of uneven length, so that a later
// copy of an id completes before an earlier one: each position still gets
// its own result, in turn (a window keyed by id, not by position, loses one).
TEST_F(BoundedConcurrency, EqualIdsCompletingOutOfTurnKeepTheirPlaces) {
  db.set_latency(OpKind::read, mockdb::Latency::uniform(1ms, 20ms));
  const std::vector<Id> ids{5, 5, 5, 7, 5, 7, 7, 9, 9, 9, 5, 1};
  for (const std::size_t limit : {std::size_t{12}, std::size_t{4}}) {
    const Batch b = run(Order::ids, ids, limit);
    expect_correct(b, Order::ids);
    // The premise: some id's later read ended before an earlier read of it.
    std::map<Id, std::vector<std::size_t>> ends;  // per id, which reads ended, in that order
    for (const Event& e : b.events) {
      if (e.kind == Event::end) ends[e.id].push_back(e.read);
    }
    bool out_of_turn = false;
    for (const auto& [id, reads] : ends) {
      out_of_turn = out_of_turn || !std::is_sorted(reads.begin(), reads.end());
    }
    if (b.reads == ids.size() && limit == 12) {
      EXPECT_TRUE(out_of_turn) << b.what << ": the test meant equal ids to complete out of "
                               << "turn and none did (the mock's latencies changed?): "
                               << "change the ids or the latencies so that some do.";
    }
  }
}

// Each call owns its cursor (the next index, and the ids it indexes): a second
// batch started while the first runs must not move the first one's.
TEST_F(BoundedConcurrency, TwoBatchesAtOnceEachGetTheirOwnResults) {
  db.set_latency(OpKind::read, mockdb::Latency::uniform(1ms, 20ms));
  std::vector<Id> second;  // ids 201 to 300, none of the first batch's
  for (Id id = 201; id <= 300; ++id) second.push_back(id);
  for (const Order order : {Order::completion, Order::ids}) {
    std::vector<Batch> batches = run_two(order, first_ids(50), second, 4);
    if (!expect_finished(batches[0])) continue;
    for (std::size_t i = 0; i < 2; ++i) {
      const Batch& b = batches[i];
      const Batch& other = batches[1 - i];
      std::size_t others = 0;
      Id first_other = 0;
      for (const auto& r : b.results) {
        if (std::find(b.ids.begin(), b.ids.end(), r.id) != b.ids.end()) continue;
        if (others++ == 0) first_other = r.id;
      }
      if (others > 0) {
        ADD_FAILURE() << b.what
                      << format(
                             " handed on %zu results, %zu of them for ids it was not given "
                             "(order %lld first)",
                             b.results.size(), others, static_cast<long long>(first_other))
                      << (std::find(other.ids.begin(), other.ids.end(), first_other) !=
                                  other.ids.end()
                              ? ": results for the other batch's ids"
                              : "")
                      << "; expected exactly its own ids' results.\nThe cursor (the next "
                         "index, and the ids it indexes) belongs to the call: keep it in the "
                         "call's frame, where its workers borrow it, not at namespace scope "
                         "or in a static that the next call resets.";
        continue;
      }
      expect_each_once(b);
      if (order == Order::ids) expect_order_of_ids(b);
    }
  }
}

// order_checker.hpp: `limit` must be at least 1, std::invalid_argument
// otherwise, even for no ids. A limit of 0 is the caller's bug; taking it as
// 1 (or returning early for an empty batch) hides it.
TEST_F(BoundedConcurrency, ALimitOfZeroIsRejected) {
  for (const auto& [order, n] : {std::pair{Order::completion, 3}, std::pair{Order::ids, 3},
                                 std::pair{Order::completion, 0}, std::pair{Order::ids, 0}}) {
    const Batch b = run(order, first_ids(n), 0);
    std::string thrown;
    try {
      if (b.thrown) std::rethrow_exception(b.thrown);
    } catch (const std::invalid_argument&) {
      continue;
    } catch (const std::exception& e) {
      thrown = e.what();
    }
    ADD_FAILURE() << b.what
                  << (b.thrown ? " threw \"" + thrown + "\""
                               : format(" returned after starting %zu reads and handing on %zu "
                                        "results",
                                        db.stats()[OpKind::read].started, b.results.size()))
                  << "; expected it to throw std::invalid_argument before starting anything "
                     "(order_checker.hpp: `limit` must be at least 1). A limit of 0 is the "
                     "caller's bug: quietly taking it as 1 hides it"
                  << (n == 0 ? ", and so does returning early for an empty batch: check the "
                               "limit first."
                             : ".");
  }
}

// A limit above the number of ids is allowed, and costs what ids.size()
// checks cost (order_checker.hpp): not `limit` workers or slots.
TEST_F(BoundedConcurrency, AHugeLimitCostsWhatTheIdsCost) {
  for (const Order order : {Order::completion, Order::ids}) {
    const Batch b = run(order, first_ids(3), 100'000);
    expect_correct(b, order);
  }
}

// Few checks at a time over a big batch: what the call holds beyond its
// `limit` checks (frames made ahead, a copy per result) stands out here.
TEST_F(BoundedConcurrency, ALowLimitHoldsLittle) {
  for (const Order order : {Order::completion, Order::ids}) {
    const Batch b = run(order, first_ids(1000), 2);
    expect_correct(b, order);
  }
}

TEST_F(BoundedConcurrency, NoIdsNoReads) {
  for (const Order order : {Order::completion, Order::ids}) {
    const Batch b = run(order, {}, 4);
    if (!expect_finished(b)) continue;
    EXPECT_TRUE(b.results.empty()) << b.what << " handed on results for no ids";
    EXPECT_EQ(db.stats()[OpKind::read].started, 0u) << b.what << " started reads for no ids";
  }
}

}  // namespace
