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
//  - nothing is left running when the call returns, and it returns at the
//    instant its last result is handed on (not after a sleep);
//  - a big batch grows the heap by what `limit` checks cost, not by a frame
//    per id made up front (mallinfo2(), since Asio's frames bypass operator
//    new; not checked under AddressSanitizer, where it reads 0);
//  - two batches at once on one loop each get exactly their own results;
//  - an empty batch returns at once; a limit of 0 throws invalid_argument.
// The gallery in wrong-fixes/ is what these checks are written against.
#include "order_checker.hpp"

#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <exception>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
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
// What a batch may grow the heap by before its first `limit` results are in:
// per check in flight (its frames, its read in the mock, its slot), and once.
// The fix grows it by 70 KiB at limit 16 (g++ -O2); a frame per id made up
// front, by 2,200 KiB for 10,000 ids. The budget leaves room for bigger frames
// in unoptimised and clang builds.
constexpr std::size_t kHeapPerCheck = std::size_t{8} * 1024;
constexpr std::size_t kHeapSlack = std::size_t{128} * 1024;

enum class Order { completion, ids };

// What happened during one batch, in the order it happened.
struct Event {
  enum Kind { start, end, hand_on } kind;
  workbook::Clock::time_point at;
  Id id;
};

// One call of check_orders() or check_orders_in_order(), seen from outside.
struct Batch {
  Order order = Order::completion;
  std::string what;  // "check_orders() of 10000 ids, limit 16"
  std::vector<Id> ids;
  std::size_t limit = 0;
  std::vector<ch12::OrderResult> results;  // in the order handed on
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
  // Heap in use when the call was made, and the most it grew by at a read's
  // start before `limit` results were handed on (0 and false where the heap
  // cannot be measured).
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
    events_.push_back({Event::start, workbook::Clock::now(), id});
    // Until `limit` results are in, the test's own vectors (reserved) do not
    // grow: what grew is the call's frames, its checks, and their reads.
    if (batch_.heap_measured && batch_.results.size() < batch_.limit) {
      const std::size_t now = heap_in_use();
      if (now > batch_.heap_base) {
        batch_.heap_growth = std::max(batch_.heap_growth, now - batch_.heap_base);
      }
    }
    std::optional<mockdb::Row> row;
    std::exception_ptr failure;
    try {
      row = co_await inner_.read(std::move(table), id);
    } catch (...) {
      failure = std::current_exception();
    }
    events_.push_back({Event::end, workbook::Clock::now(), id});
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
    ch12::OnResult on_result = [&b](ch12::OrderResult r) {
      b.events.push_back({Event::hand_on, workbook::Clock::now(), r.id});
      b.results.push_back(std::move(r));
    };
    db.reset_stats();
    ch12::reset_check_frames();
    b.events.reserve(3 * b.ids.size() + 16);  // no growth of the test's own while measuring
    b.results.reserve(b.ids.size() + 16);
    b.heap_base = heap_in_use();
    b.heap_measured = b.heap_base != 0;
    const auto start = workbook::Clock::now();
    b.began = start;
    {
      workbook::Watchdog watchdog(10s, b.what);
      try {
        workbook::run_to_completion(
            ctx,
            order == Order::ids
                ? ch12::check_orders_in_order(watched, std::move(ids), limit, on_result)
                : ch12::check_orders(watched, std::move(ids), limit, on_result),
            b.what);
      } catch (const workbook::NeverCompleted& e) {
        b.never_completed = e.what();
      } catch (...) {
        b.thrown = std::current_exception();
      }
    }
    b.took = workbook::Clock::now() - start;
    const mockdb::Stats stats = db.stats();
    b.left_in_flight = stats[OpKind::read].in_flight;
    b.max_in_flight = stats[OpKind::read].max_in_flight;
    b.max_frames = ch12::check_frames().max_live;
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
                            : ". A slot that is never given back (a token not released when a "
                              "check fails?) stops the batch for good.\n")
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
    // It returns when its last check has been handed on: at that instant,
    // not after a timer set to be "long enough".
    const workbook::Clock::time_point returned = b.began + b.took;
    workbook::Clock::time_point last = b.began;
    for (const Event& e : b.events) last = std::max(last, e.at);
    if (returned > last) {
      ADD_FAILURE() << b.what
                    << format(
                           " returned at %.0f ms, %.0f ms after its last result was handed on "
                           "(at %.0f ms); expected it to return at that instant",
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
    if (b.max_held > b.limit) {
      ADD_FAILURE() << b.what
                    << format(
                           " held %zu results at once (started and not yet handed on); "
                           "expected a reorder window of at most the limit, %zu",
                           b.max_held, b.limit)
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

  // The heap grew by what `limit` checks cost, not by what all the ids would:
  // a coroutine frame created up front for every id (a wrapper around
  // check_order(), not yet started) is not a check_order() frame, and
  // check_frames() cannot see it. Big batches only: there the two differ by
  // a thousand frames or more. Allocation sizes are the same on every run of
  // one build, so the figure is too.
  static void expect_heap_within_limit(const Batch& b) {
    if (b.ids.size() < 1000) return;
    if (!b.heap_measured) {
      std::cout << "note: " << b.what
                << ": heap growth not checked, mallinfo2() reads 0 here (AddressSanitizer "
                   "replaces malloc); the other builds check it.\n";
      return;
    }
    const std::size_t budget = kHeapSlack + b.limit * kHeapPerCheck;
    if (b.heap_growth > budget) {
      ADD_FAILURE() << b.what
                    << format(
                           " grew the heap by %zu KiB before its first %zu results were handed "
                           "on, with %zu reads in flight at most; expected at most %zu KiB "
                           "(%zu KiB per check the limit allows, plus %zu KiB)",
                           b.heap_growth / 1024, b.limit, b.max_in_flight, budget / 1024,
                           kHeapPerCheck / 1024, kHeapSlack / 1024)
                    << format(
                           ".\nThat is %zu bytes per id: the cost of %zu coroutine frames "
                           "created up front. A vector of awaitables (or of deferred co_spawns) "
                           "made for every id before the first check starts holds one frame per "
                           "id, even if only `limit` of them run at a time, and check_frames() "
                           "counts only check_order()'s, not a wrapper's. Create each check, and "
                           "any coroutine wrapping it, when it starts.",
                           b.heap_growth / b.ids.size(), b.ids.size());
    }
  }

  // No slot sat idle while ids were waiting, and the limit was used.
  static void expect_slots_busy(const Batch& b) {
    const std::size_t n = b.ids.size();
    if (b.max_in_flight == 1 && b.limit > 1 && n > 1) {
      ADD_FAILURE() << b.what
                    << format(
                           " ran 1 check at a time, for %zu ids, in %.0f ms; expected up to "
                           "%zu at once",
                           n, workbook::to_ms(b.took), std::min(b.limit, n))
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
      const ch12::OrderResult& r = b.results[i];
      if (r.failed() || !r.order) continue;
      const auto field = r.order->find("name");
      if (field == r.order->end()) {
        ADD_FAILURE() << b.what
                      << format(": result %zu, for order %lld, ", i, static_cast<long long>(r.id))
                      << format("holds a row without a name (%zu fields)", r.order->size())
                      << "; expected the row its read returned, with the order's name. The row "
                         "was lost between check_order() and on_result (a result moved from "
                         "twice, a copy taken before it was filled in, or a value passed "
                         "through something that does not keep it): hand on the OrderResult "
                         "that check_order() returned.";
        return;
      }
      const auto name = field->value().as_string();
      if (name != ch12::order_name(r.id)) {
        ADD_FAILURE() << b.what << ": the result for order " << r.id << " holds \"" << name
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
      } else if (!r.order) {
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
      return ch12::OnResult([&b](ch12::OrderResult r) {
        b.events.push_back({Event::hand_on, workbook::Clock::now(), r.id});
        b.results.push_back(std::move(r));
      });
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

// Sizes that differ from the ones above: limits of 1, 3, 5, 8, 64, and
// batches smaller than the limit, with reads of 1 to 20 ms.
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
                                         Size{50, 1}, Size{500, 64}),
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
      EXPECT_EQ(static_cast<bool>(r.order), r.id != 99999)
          << b.what << ": order " << r.id << (r.order ? " was found" : " was not found");
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
// otherwise. A limit of 0 is the caller's bug; taking it as 1 hides it.
TEST_F(BoundedConcurrency, ALimitOfZeroIsRejected) {
  for (const Order order : {Order::completion, Order::ids}) {
    const Batch b = run(order, first_ids(3), 0);
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
                     "caller's bug: quietly taking it as 1 hides it.";
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
