// The mock database: storage (store.cpp, query.cpp) behind asynchronous
// operations with latency, faults, a connection limit and instrumentation.
#include "mockdb/mock_database.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <cmath>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "mockdb/query.hpp"
#include "mockdb/store.hpp"
#include "workbook/timer.hpp"

namespace mockdb {

using workbook::Clock;
namespace asio = boost::asio;

const char* to_string(OpKind kind) noexcept {
  static constexpr const char* names[kOpKinds] = {"connect", "create", "read",
                                                  "update",  "remove", "query"};
  return names[static_cast<std::size_t>(kind)];
}

// ---------------------------------------------------------------- Latency

namespace {
// The longest latency a distribution may draw: 1e15 ns, about 11.6 days of
// workbook time; far beyond any test, and far below int64's limit.
constexpr double kLongestLatencyNs = 1e15;
}  // namespace

Latency Latency::none() noexcept { return fixed(Clock::duration::zero()); }

Latency Latency::fixed(Clock::duration d) noexcept { return {Shape::fixed, d, d}; }

Latency Latency::uniform(Clock::duration low, Clock::duration high) noexcept {
  return {Shape::uniform, low, std::max(low, high)};
}

Latency Latency::long_tail(Clock::duration median, Clock::duration p99) noexcept {
  return {Shape::long_tail, median, std::max(median, p99)};
}

Clock::duration Latency::sample(std::mt19937_64& rng) const {
  // Hand-written from raw 64-bit draws (which std::mt19937_64 defines exactly)
  // rather than std:: distributions, whose output differs between libraries.
  const auto unit = [&rng] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  switch (shape_) {
    case Shape::fixed:
      return a_;
    case Shape::uniform:
      return a_ + Clock::duration(
                      static_cast<Clock::rep>(unit() * static_cast<double>((b_ - a_).count())));
    case Shape::long_tail: {
      // log-normal: exp(mu + sigma z); mu from the median, sigma so that the
      // 99th percentile (z = 2.326) lands on p99.
      const auto median = static_cast<double>(a_.count());
      const double sigma =
          std::log(static_cast<double>(b_.count()) / std::max(median, 1.0)) / 2.326;
      const double u1 = std::max(unit(), 0x1.0p-53);
      const double z =
          std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * unit());
      // Clamped before the conversion: a long enough tail (or a p99 of zero)
      // would otherwise overflow int64 or be NaN, which is undefined behaviour.
      double ns = median * std::exp(sigma * z);
      if (std::isnan(ns)) ns = median;
      return Clock::duration(static_cast<Clock::rep>(std::clamp(ns, 0.0, kLongestLatencyNs)));
    }
  }
  return a_;
}

// ---------------------------------------------------------------- Engine

namespace detail {

struct FaultRule {
  enum class Type { fail, fail_randomly, fail_after_effect, hang } type;
  std::size_t remaining;
  double probability;
  boost::system::error_code error;
  std::optional<OpKind> only;
};

// One operation waiting for a place under the capacity. It waits on a
// workbook::Timer of its own coroutine (so the io_context owns the wait, and
// destroys it if the loop is destroyed first); a place given to it is
// announced by cancelling that timer on the operation's own executor.
// Guarded by Engine::mutex.
struct Waiter {
  Clock::time_point since;           // when it joined the queue
  Clock::duration waited{};          // set when it is given a place
  bool granted = false;              // given a place (and out of the queue)
  workbook::Timer* timer = nullptr;  // its wait, while its coroutine waits
  asio::any_io_executor executor;    // where its coroutine runs
};

// What happens to one operation, decided when it starts.
struct Plan {
  Clock::duration latency{};
  std::optional<boost::system::error_code> error;        // fails with no effect
  std::optional<boost::system::error_code> error_after;  // fails after the effect
  bool hang = false;
  bool refused = false;            // refused before it reached the server
  bool holds_place = false;        // runs under the capacity, in a place of its own
  std::shared_ptr<Waiter> waiter;  // queued for a place under the capacity
};

// One connection, shared by its Connection object (if the caller opened it)
// and the operation running on it. Guarded by Engine::mutex.
struct ConnectionState {
  std::uint64_t id = 0;
  bool busy = false;    // an operation is in progress on it
  bool broken = false;  // a connection failure or a cancellation mid-operation
  bool closed = false;  // closed: its place under the limit is free again
};

// The engine's lock. Every critical section under it is a few dozen
// instructions that never wait (counters, a fault plan, a connection's
// flags), and an operation takes it twice, when it starts and when it ends.
// A std::mutex costs two atomic read-modify-writes and a call into the
// C library per lock and unlock (~160 instructions a read, callgrind); this
// costs one exchange to lock and a plain store to unlock. A thread that finds
// it taken yields, so a holder preempted on a busy machine is not raced
// against.
class SpinLock {
 public:
  void lock() noexcept {
    while (taken_.exchange(true, std::memory_order_acquire)) {
      while (taken_.load(std::memory_order_relaxed)) std::this_thread::yield();
    }
  }
  void unlock() noexcept { taken_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> taken_{false};
};

struct Engine {
  explicit Engine(const MockConfig& c) : config(c), rng(config.seed) {
    latency.fill(config.operation_latency);
    latency[static_cast<std::size_t>(OpKind::connect)] = config.connect_latency;
    trace.set_enabled(config.trace);
  }

  MockConfig config;
  Store store;
  workbook::Trace trace{"mock database"};

  mutable SpinLock mutex;  // guards everything below, and every ConnectionState
  std::mt19937_64 rng;
  std::array<Latency, kOpKinds> latency{Latency::none(), Latency::none(), Latency::none(),
                                        Latency::none(), Latency::none(), Latency::none()};
  std::vector<FaultRule> rules;
  std::optional<std::pair<Clock::time_point, Clock::time_point>> outage;
  CancelEffect cancel_effect = CancelEffect::server_stops;
  Stats stats;
  std::uint64_t rows_scanned_at_reset = 0;
  std::uint64_t last_connection_id = 0;
  std::vector<std::uint64_t> idle_pool_ids;  // borrowed connections given back, for reuse

  // The fault an operation of `kind` starting now meets, if any. Requires the lock.
  void plan_fault(OpKind kind, Plan& p) {
    if (outage) {
      const auto now = Clock::now();
      if (now >= outage->first && now < outage->second) {
        p.error = make_error_code(Errc::unavailable);
        p.refused = true;
        return;
      }
    }
    for (FaultRule& rule : rules) {
      if (rule.remaining == 0 || (rule.only && *rule.only != kind)) continue;
      if (rule.type == FaultRule::Type::fail_randomly) {
        if (static_cast<double>(rng() >> 11) * 0x1.0p-53 >= rule.probability) continue;
      } else if (rule.remaining != MockDatabase::kForever) {
        --rule.remaining;
      }
      switch (rule.type) {
        case FaultRule::Type::hang:
          p.hang = true;
          return;
        case FaultRule::Type::fail_after_effect:
          p.error_after = rule.error;
          return;
        default:
          p.error = rule.error;
          return;
      }
    }
  }

  // Takes a place under the connection limit for a new connection; returns its
  // id, or 0 if the limit is reached. Requires the lock.
  std::uint64_t open_connection_locked(bool reuse_pooled) {
    const std::size_t limit = config.max_connections;
    if (limit != 0 && stats.open_connections >= limit) return 0;
    stats.max_open_connections = std::max(stats.max_open_connections, ++stats.open_connections);
    if (reuse_pooled && !idle_pool_ids.empty()) {
      const std::uint64_t id = idle_pool_ids.back();
      idle_pool_ids.pop_back();
      return id;
    }
    return ++last_connection_id;
  }

  // The capacity model (see mock_database.hpp). Requires the lock.
  std::size_t running = 0;                      // operations in a place
  std::deque<std::shared_ptr<Waiter>> waiting;  // in arrival order

  // A waiter given a place, to be told so on its executor.
  struct Wake {
    asio::any_io_executor executor;
    std::shared_ptr<Waiter> waiter;
  };

  // Gives free places to the longest waiting operations. Requires the lock;
  // the caller tells the woken ones with wake() after unlocking.
  void grant_locked(std::vector<Wake>& wakes) {
    std::optional<Clock::time_point> now;
    while (!waiting.empty() && (config.capacity == 0 || running < config.capacity)) {
      std::shared_ptr<Waiter> w = std::move(waiting.front());
      waiting.pop_front();
      stats.max_running = std::max(stats.max_running, ++running);
      --stats.queued;
      if (!now) now = Clock::now();
      w->granted = true;
      w->waited = *now - w->since;
      stats.time_queued += w->waited;
      // A waiter whose coroutine has not begun to wait sees `granted` itself.
      if (w->timer != nullptr) wakes.push_back({w->executor, std::move(w)});
    }
  }

  // Tells each woken waiter, on its own executor, by cancelling its wait under
  // the lock (Place::wait() begins the wait and forgets the timer under it).
  void wake(const std::shared_ptr<Engine>& self, std::vector<Wake>& wakes) {
    for (Wake& w : wakes) {
      asio::post(w.executor, [self, waiter = std::move(w.waiter)] {
        std::lock_guard lock(self->mutex);
        if (waiter->timer != nullptr) waiter->timer->cancel();
      });
    }
  }

  // Frees a place under the capacity and gives it to the next in the queue.
  void release_place(const std::shared_ptr<Engine>& self) {
    std::vector<Wake> wakes;
    {
      std::lock_guard lock(mutex);
      --running;
      grant_locked(wakes);
    }
    wake(self, wakes);
  }

  // Takes a place for an operation that reaches the server, or queues it.
  // Requires the lock.
  void place_locked(Plan& p) {
    if (config.capacity == 0 || p.refused) return;
    if (running < config.capacity && waiting.empty()) {
      stats.max_running = std::max(stats.max_running, ++running);
      p.holds_place = true;
      return;
    }
    p.waiter = std::make_shared<Waiter>();
    p.waiter->since = Clock::now();
    waiting.push_back(p.waiter);
    ++stats.ops_queued;
    stats.max_queued = std::max(stats.max_queued, ++stats.queued);
  }

  // Frees the place of connection `c` (once).
  void close_connection(ConnectionState& c) {
    std::lock_guard lock(mutex);
    if (c.closed) return;
    c.closed = true;
    --stats.open_connections;
  }
};

// One operation's bookkeeping, from start to end, as an RAII object: it is
// counted, traced and holds its connection from construction, and is ended
// exactly once by its destructor, whether the operation completed, failed,
// was cancelled, or its coroutine frame was destroyed while suspended (which
// ends it as cancelled and frees its connection).
class Operation {
 public:
  Operation(Engine& engine, OpKind kind, std::string key,
            std::shared_ptr<ConnectionState> connection, bool borrow)
      : engine_(&engine), kind_(kind), connection_(std::move(connection)) {
    std::uint64_t connection_id = 0;
    {
      std::lock_guard lock(engine_->mutex);
      for (OpStats* s : {&stats(), &engine_->stats.total}) {
        ++s->started;
        s->max_in_flight = std::max(s->max_in_flight, ++s->in_flight);
      }
      if (connection_) {
        connection_id = connection_->id;
        if (connection_->closed || connection_->broken) {
          plan_.error = make_error_code(Errc::connection_closed);
          plan_.refused = true;
        } else if (connection_->busy) {
          plan_.error = make_error_code(Errc::operation_in_progress);
          plan_.refused = true;
        } else {
          connection_->busy = owns_busy_ = true;
        }
      }
      if (!plan_.error) {
        plan_.latency = engine_->latency[static_cast<std::size_t>(kind)].sample(engine_->rng);
        engine_->plan_fault(kind, plan_);
      }
      if (borrow && !plan_.error) {
        // A direct operation borrows a connection for as long as it runs,
        // hanging included.
        connection_id = borrowed_id_ = engine_->open_connection_locked(true);
        if (borrowed_id_ == 0) {
          plan_.error = make_error_code(Errc::too_many_connections);
          plan_.refused = true;
        }
      }
      engine_->place_locked(plan_);
    }
    if (engine_->trace.enabled()) {
      span_ = engine_->trace.begin(to_string(kind), std::move(key),
                                   workbook::SpanLinks{.connection = connection_id});
    }
  }

  ~Operation() {
    if (outcome_ == workbook::Outcome::pending) {
      outcome_ = workbook::Outcome::cancelled;
      detail_ = "abandoned: the coroutine awaiting it was destroyed before it completed";
    }
    engine_->trace.end(span_, outcome_, std::move(detail_));
    const bool breaks = outcome_ == workbook::Outcome::cancelled ||
                        (outcome_ == workbook::Outcome::failed && breaks_connection_);
    std::lock_guard lock(engine_->mutex);
    for (OpStats* s : {&stats(), &engine_->stats.total}) {
      --s->in_flight;
      switch (outcome_) {
        case workbook::Outcome::ok:
          ++s->succeeded;
          break;
        case workbook::Outcome::cancelled:
          ++s->cancelled;
          break;
        default:
          ++s->failed;
      }
    }
    if (owns_busy_) {
      connection_->busy = false;
      if (breaks) connection_->broken = true;
    }
    if (borrowed_id_ != 0) {
      --engine_->stats.open_connections;
      // A broken borrowed connection is discarded; a sound one goes back to the pool.
      if (!breaks) engine_->idle_pool_ids.push_back(borrowed_id_);
    }
  }

  Operation(const Operation&) = delete;
  Operation& operator=(const Operation&) = delete;

  Plan& plan() noexcept { return plan_; }

  /// Records in its span that it waited `waited` for a place.
  void queued(Clock::duration waited) { engine_->trace.set_queued(span_, waited); }

  void succeeded() noexcept { outcome_ = workbook::Outcome::ok; }

  void cancelled(std::string reason) {
    outcome_ = workbook::Outcome::cancelled;
    detail_ = std::move(reason);
  }

  void failed(const std::exception& e) {
    outcome_ = workbook::Outcome::failed;
    detail_ = e.what();
    if (const auto* error = dynamic_cast<const boost::system::system_error*>(&e)) {
      breaks_connection_ = error->code() == ErrorClass::connection_failure;
    }
  }

 private:
  OpStats& stats() { return engine_->stats.by_kind[static_cast<std::size_t>(kind_)]; }

  Engine* engine_;  // owned by the operation's coroutine frame, which outlives this
  OpKind kind_;
  std::shared_ptr<ConnectionState> connection_;
  Plan plan_;
  std::uint64_t span_ = 0;
  std::uint64_t borrowed_id_ = 0;
  bool owns_busy_ = false;
  bool breaks_connection_ = false;
  workbook::Outcome outcome_ = workbook::Outcome::pending;
  std::string detail_;
};

// The diagnostics of an injected error: its SQLSTATE if it is one of the
// mock's codes (another category's code has none the mock could know).
Diagnostics injected_diagnostics(const boost::system::error_code& error, std::string message) {
  return Diagnostics{
      std::move(message),
      error.category() == category() ? sqlstate(static_cast<Errc>(error.value())) : "",
      {}};
}

// Why an operation was cancelled, for its span.
std::string cancel_reason(asio::cancellation_type type) {
  if ((type & asio::cancellation_type::terminal) != asio::cancellation_type::none) {
    return "cancelled by its caller (terminal: the caller gave up on it, as a timeout or the "
           "losing side of || does)";
  }
  if ((type & asio::cancellation_type::partial) != asio::cancellation_type::none) {
    return "cancelled by its caller (partial)";
  }
  return "cancelled by its caller";
}

// An operation's place under the capacity: held until its work on the
// server ends, or first waited for in the queue. Whatever way the operation
// ends (cancelled in the queue, its frame destroyed), the destructor leaves
// the queue or frees the place. Empty for an operation the capacity does not
// apply to, and then it costs nothing.
class Place {
 public:
  Place(const std::shared_ptr<Engine>& engine, Operation& op) : op_(&op) {
    const Plan& p = op.plan();
    if (p.holds_place || p.waiter) engine_ = engine;
    waiter_ = p.waiter;
  }
  Place(Place&& other) noexcept
      : engine_(std::move(other.engine_)), waiter_(std::move(other.waiter_)), op_(other.op_) {}
  Place& operator=(Place&&) = delete;
  Place(const Place&) = delete;
  Place& operator=(const Place&) = delete;
  ~Place() {
    if (!engine_) return;
    try {
      if (waiter_ && !settle()) return;  // left the queue without a place
      engine_->release_place(engine_);
    } catch (...) {
      // Only an allocation can fail here (waking the next in the queue). A
      // place that is never given back would stall every operation queued
      // behind it without a word: stop at once instead.
      std::terminate();
    }
  }

  /// Waits for the place it queued for. Returns false if the wait was
  /// cancelled first (the operation then holds no place; the destructor takes
  /// it out of the queue); throws operation_aborted if it was cancelled before.
  asio::awaitable<bool> wait() {
    const auto ex = co_await asio::this_coro::executor;
    workbook::Timer timer(ex, Clock::time_point::max());
    {
      // Forgets the timer however the wait ends (it may throw before it begins).
      const Unregister unregister{*engine_, *waiter_};
      // The wait begins under the engine's lock, as Engine::grant_locked()
      // gives places: a place given before it began makes it end at once
      // (expired timer); one given after finds the timer, and Engine::wake()
      // cancels it. On a loop with several threads, the wake may run on
      // another thread at any moment, so neither may happen between the other's
      // check and action.
      auto initiate = [this, &timer, &ex](auto handler) {
        std::lock_guard lock(engine_->mutex);
        if (waiter_->granted) {
          timer.expires_at(Clock::time_point::min());
        } else {
          waiter_->timer = &timer;
          waiter_->executor = ex;
        }
        timer.async_wait(std::move(handler));
      };
      boost::system::error_code ec;
      auto token = asio::redirect_error(asio::use_awaitable, ec);
      co_await asio::async_initiate<decltype(token), void(boost::system::error_code)>(initiate,
                                                                                      token);
    }
    co_return settle();
  }

 private:
  // Forgets the timer of a wait that has ended, however it ended.
  struct Unregister {
    Engine& engine;
    Waiter& waiter;
    ~Unregister() {
      std::lock_guard lock(engine.mutex);
      waiter.timer = nullptr;
    }
  };

  // Ends the wait: true if a place was given, else leaves the queue. Either
  // way records the time queued in the operation's span.
  bool settle() {
    const std::shared_ptr<Waiter> w = std::move(waiter_);
    {
      std::lock_guard lock(engine_->mutex);
      if (!w->granted) {
        auto& queue = engine_->waiting;
        queue.erase(std::find(queue.begin(), queue.end(), w));
        --engine_->stats.queued;
        w->waited = Clock::now() - w->since;
        engine_->stats.time_queued += w->waited;
      }
    }
    op_->queued(w->waited);
    if (!w->granted) engine_.reset();
    return w->granted;
  }

  std::shared_ptr<Engine> engine_;  // set while it holds or waits for a place
  std::shared_ptr<Waiter> waiter_;  // set while it waits
  Operation* op_;
};

// The effect of an operation whose client cancelled it, when the server goes
// on with it: it lands when the operation would have completed, and it keeps
// its place under the capacity until then.
template <typename Body>
asio::awaitable<void> finish_on_the_server(std::shared_ptr<Engine> engine, Clock::time_point when,
                                           [[maybe_unused]] Place place, Body body) {
  workbook::Timer timer(co_await asio::this_coro::executor, when);
  co_await timer.async_wait(asio::use_awaitable);
  try {
    body(engine->store);
  } catch (const std::exception&) {
    // The client is gone: nobody hears of a failure.
  }
}

// Runs one operation: bookkeeping (Operation), latency or hang, then `body` on
// the store, like a reply from a server. The engine is a parameter, so the
// coroutine frame owns it for as long as the operation runs.
template <typename Body>
auto run_operation(std::shared_ptr<Engine> engine, OpKind kind, std::string key,
                   std::shared_ptr<ConnectionState> connection, bool borrow, Body body)
    -> asio::awaitable<std::invoke_result_t<Body&, Store&>> {
  Operation op(*engine, kind, std::move(key), std::move(connection), borrow);
  const Plan& p = op.plan();
  // Under the capacity model, a place on the server first (queued if none is free).
  Place place(engine, op);
  bool aborted = false;
  if (p.waiter) {
    try {
      aborted = !co_await place.wait();
    } catch (const boost::system::system_error& e) {
      if (e.code() != asio::error::operation_aborted) throw;
      aborted = true;
    }
  }
  const bool reached_server = !aborted;
  // When the reply is due; read from the clock only for an operation that
  // waits (reading it costs as much as the rest of an instant read's
  // bookkeeping). An instant operation is due when it starts.
  const bool waits = !aborted && (p.hang || p.latency > Clock::duration::zero());
  const Clock::time_point due = waits ? Clock::now() + p.latency : Clock::time_point::min();
  try {
    if (aborted) {
      // Cancelled while queued: it never reached the server.
    } else if (waits) {
      workbook::Timer timer(co_await asio::this_coro::executor,
                            p.hang ? Clock::time_point::max() : due);
      co_await timer.async_wait(asio::use_awaitable);
    } else {
      // Even an instant operation completes asynchronously, as a real one would.
      // Posted to the coroutine's own executor: naming an executor costs a
      // work-tracking copy of it and a second dispatch (~540 instructions).
      co_await asio::post(asio::use_awaitable);
    }
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted) throw;
    aborted = true;
  }
  // A post cannot be cancelled: honour a cancellation that arrived meanwhile.
  const auto cancellation = co_await asio::this_coro::cancellation_state;
  const asio::cancellation_type cancelled = cancellation.cancelled();
  if (aborted || cancelled != asio::cancellation_type::none) {
    if (reached_server && !p.error && !p.hang &&
        engine->cancel_effect == CancelEffect::server_finishes) {
      asio::co_spawn(co_await asio::this_coro::executor,
                     finish_on_the_server(engine, waits ? due : Clock::now(), std::move(place),
                                          std::move(body)),
                     asio::detached);
    }
    op.cancelled(cancel_reason(cancelled));
    throw boost::system::system_error(asio::error::operation_aborted);
  }
  try {
    // An injected error keeps its own category: a test may inject another
    // backend's code (one that maps onto an ErrorClass) to check that code
    // tests for the condition, not for the mock's codes.
    if (p.error) throw DatabaseError(*p.error, injected_diagnostics(*p.error, ""));
    auto result = body(engine->store);
    if (p.error_after) {
      throw DatabaseError(
          *p.error_after,
          injected_diagnostics(*p.error_after,
                               "the reply was lost after the statement took effect"));
    }
    op.succeeded();
    co_return result;
  } catch (const std::exception& e) {
    op.failed(e);
    throw;
  }
}

}  // namespace detail

namespace {

using detail::ConnectionState;
using detail::Engine;

// The key a span shows ("notes/42"); not built when nobody records it.
std::string row_key(const Engine& engine, const std::string& table, Id id) {
  return engine.trace.enabled() ? table + "/" + std::to_string(id) : std::string();
}

// The operations of a connection (`connection` set) and of the database
// itself (`connection` null: each operation borrows a connection).
template <typename Base>
class Operations : public Base {
 public:
  Operations(std::shared_ptr<Engine> engine, std::shared_ptr<ConnectionState> connection)
      : engine_(std::move(engine)), connection_(std::move(connection)) {}

  asio::awaitable<Id> create(std::string table, Row row) override {
    std::string key = engine_->trace.enabled() ? table : std::string();
    return run(OpKind::create, std::move(key),
               [table = std::move(table), row = std::move(row)](Store& store) mutable {
                 return store.insert(table, std::move(row));
               });
  }

  asio::awaitable<std::optional<Row>> read(std::string table, Id id) override {
    std::string key = row_key(*engine_, table, id);
    return run(OpKind::read, std::move(key),
               [table = std::move(table), id](Store& store) { return store.find(table, id); });
  }

  asio::awaitable<bool> update(std::string table, Id id, Row fields) override {
    std::string key = row_key(*engine_, table, id);
    return run(OpKind::update, std::move(key),
               [table = std::move(table), id, fields = std::move(fields)](Store& store) {
                 return store.update(table, id, fields);
               });
  }

  asio::awaitable<bool> remove(std::string table, Id id) override {
    std::string key = row_key(*engine_, table, id);
    return run(OpKind::remove, std::move(key),
               [table = std::move(table), id](Store& store) { return store.erase(table, id); });
  }

  asio::awaitable<Rows> query(std::string sql, Params params) override {
    std::string key = sql;
    return run(OpKind::query, std::move(key),
               [sql = std::move(sql), params = std::move(params)](Store& store) {
                 return store.select(parse_query(sql), params).rows;
               });
  }

 protected:
  template <typename Body>
  auto run(OpKind kind, std::string key, Body body) {
    return detail::run_operation(engine_, kind, std::move(key), connection_, connection_ == nullptr,
                                 std::move(body));
  }

  std::shared_ptr<Engine> engine_;
  std::shared_ptr<ConnectionState> connection_;
};

class MockConnection final : public Operations<Connection> {
 public:
  MockConnection(std::shared_ptr<Engine> engine, std::shared_ptr<ConnectionState> state)
      : Operations(std::move(engine), std::move(state)) {}
  ~MockConnection() override { engine_->close_connection(*connection_); }
  MockConnection(const MockConnection&) = delete;
  MockConnection& operator=(const MockConnection&) = delete;

  asio::awaitable<void> close() override {
    engine_->close_connection(*connection_);
    // Completes asynchronously, like every operation.
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  }
};

// The direct operations of MockDatabase, each on a borrowed connection.
using DirectOperations = Operations<Queryable>;

}  // namespace

// ---------------------------------------------------------------- MockDatabase

MockDatabase::MockDatabase(MockConfig config)
    : engine_(std::make_shared<Engine>(config)),
      direct_(std::make_unique<DirectOperations>(engine_, nullptr)) {}

MockDatabase::~MockDatabase() = default;

asio::awaitable<std::unique_ptr<Connection>> MockDatabase::connect() {
  return detail::run_operation(engine_, OpKind::connect, "", nullptr, false,
                               [e = engine_](Store&) -> std::unique_ptr<Connection> {
                                 auto state = std::make_shared<ConnectionState>();
                                 {
                                   std::lock_guard lock(e->mutex);
                                   state->id = e->open_connection_locked(false);
                                 }
                                 if (state->id == 0) {
                                   throw_database_error(Errc::too_many_connections,
                                                        "sorry, too many clients already");
                                 }
                                 return std::make_unique<MockConnection>(e, std::move(state));
                               });
}

asio::awaitable<Id> MockDatabase::create(std::string table, Row row) {
  return direct_->create(std::move(table), std::move(row));
}

asio::awaitable<std::optional<Row>> MockDatabase::read(std::string table, Id id) {
  return direct_->read(std::move(table), id);
}

asio::awaitable<bool> MockDatabase::update(std::string table, Id id, Row fields) {
  return direct_->update(std::move(table), id, std::move(fields));
}

asio::awaitable<bool> MockDatabase::remove(std::string table, Id id) {
  return direct_->remove(std::move(table), id);
}

asio::awaitable<Rows> MockDatabase::query(std::string sql, Params params) {
  return direct_->query(std::move(sql), std::move(params));
}

void MockDatabase::set_latency(OpKind kind, Latency latency) {
  std::lock_guard lock(engine_->mutex);
  engine_->latency[static_cast<std::size_t>(kind)] = latency;
}

void MockDatabase::set_latency(Latency latency) {
  std::lock_guard lock(engine_->mutex);
  for (std::size_t k = 0; k < kOpKinds; ++k) {
    if (k != static_cast<std::size_t>(OpKind::connect)) engine_->latency[k] = latency;
  }
}

void MockDatabase::fail_next(std::size_t count, boost::system::error_code error,
                             std::optional<OpKind> only) {
  std::lock_guard lock(engine_->mutex);
  engine_->rules.push_back({detail::FaultRule::Type::fail, count, 0.0, error, only});
}

void MockDatabase::fail_randomly(double probability, boost::system::error_code error,
                                 std::optional<OpKind> only) {
  std::lock_guard lock(engine_->mutex);
  engine_->rules.push_back(
      {detail::FaultRule::Type::fail_randomly, kForever, probability, error, only});
}

void MockDatabase::fail_after_effect_next(std::size_t count, boost::system::error_code error,
                                          std::optional<OpKind> only) {
  std::lock_guard lock(engine_->mutex);
  engine_->rules.push_back({detail::FaultRule::Type::fail_after_effect, count, 0.0, error, only});
}

void MockDatabase::hang_next(std::size_t count, std::optional<OpKind> only) {
  std::lock_guard lock(engine_->mutex);
  engine_->rules.push_back({detail::FaultRule::Type::hang, count, 0.0, {}, only});
}

void MockDatabase::set_cancel_effect(CancelEffect effect) {
  std::lock_guard lock(engine_->mutex);
  engine_->cancel_effect = effect;
}

void MockDatabase::outage(Clock::duration starts_in, Clock::duration lasts) {
  const auto start = Clock::now() + starts_in;
  std::lock_guard lock(engine_->mutex);
  engine_->outage = {start, start + lasts};
}

void MockDatabase::set_max_connections(std::size_t limit) {
  std::lock_guard lock(engine_->mutex);
  engine_->config.max_connections = limit;
}

void MockDatabase::set_capacity(std::size_t limit) {
  std::vector<Engine::Wake> wakes;
  {
    std::lock_guard lock(engine_->mutex);
    engine_->config.capacity = limit;
    engine_->grant_locked(wakes);
  }
  engine_->wake(engine_, wakes);
}

void MockDatabase::clear_faults() {
  std::lock_guard lock(engine_->mutex);
  engine_->rules.clear();
  engine_->outage.reset();
}

Stats MockDatabase::stats() const {
  const std::uint64_t scanned = engine_->store.total_rows_scanned();
  std::lock_guard lock(engine_->mutex);
  Stats s = engine_->stats;
  s.rows_scanned = scanned - engine_->rows_scanned_at_reset;
  return s;
}

void MockDatabase::reset_stats() {
  const std::uint64_t scanned = engine_->store.total_rows_scanned();
  std::lock_guard lock(engine_->mutex);
  Stats& s = engine_->stats;
  const auto restart = [](OpStats& op) {
    op = OpStats{.in_flight = op.in_flight, .max_in_flight = op.in_flight};
  };
  restart(s.total);
  for (OpStats& op : s.by_kind) restart(op);
  s.max_open_connections = s.open_connections;
  s.max_queued = s.queued;
  s.max_running = engine_->running;
  s.ops_queued = 0;
  s.time_queued = {};
  engine_->rows_scanned_at_reset = scanned;
}

workbook::Trace& MockDatabase::trace() noexcept { return engine_->trace; }

std::optional<Row> MockDatabase::peek(const std::string& table, Id id) const {
  return engine_->store.find(table, id);
}

std::size_t MockDatabase::count(const std::string& table) const {
  return engine_->store.size(table);
}

}  // namespace mockdb
