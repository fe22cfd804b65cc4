// The mock database: storage (store.cpp, query.cpp) behind asynchronous
// operations with latency, faults, a connection limit and instrumentation.
#include "mockdb/mock_database.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <cmath>
#include <mutex>
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
      return Clock::duration(static_cast<Clock::rep>(median * std::exp(sigma * z)));
    }
  }
  return a_;
}

// ---------------------------------------------------------------- Engine

namespace detail {

struct FaultRule {
  enum class Type { fail, fail_randomly, hang } type;
  std::size_t remaining;
  double probability;
  boost::system::error_code error;
  std::optional<OpKind> only;
};

// What happens to one operation, decided when it starts.
struct Plan {
  Clock::duration latency{};
  std::optional<boost::system::error_code> error;
  bool hang = false;
  bool holds_connection = false;  // a direct operation's own connection
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

  mutable std::mutex mutex;  // guards everything below
  std::mt19937_64 rng;
  std::array<Latency, kOpKinds> latency{Latency::none(), Latency::none(), Latency::none(),
                                        Latency::none(), Latency::none(), Latency::none()};
  std::vector<FaultRule> rules;
  std::optional<std::pair<Clock::time_point, Clock::time_point>> outage;
  Stats stats;

  // Starts an operation: counts it, decides its fate (latency, fault), and
  // takes a connection for it if it needs one of its own. One lock, because
  // this runs for every operation.
  Plan start(OpKind kind, bool own_connection) {
    std::lock_guard lock(mutex);
    for (OpStats* s : {&stats.by_kind[static_cast<std::size_t>(kind)], &stats.total}) {
      ++s->started;
      s->max_in_flight = std::max(s->max_in_flight, ++s->in_flight);
    }
    Plan p;
    p.latency = latency[static_cast<std::size_t>(kind)].sample(rng);
    p.error = planned_fault(kind, p.hang);
    if (own_connection && !p.error && !p.hang) {
      if (open_connection_locked()) {
        p.holds_connection = true;
      } else {
        p.error = make_error_code(Errc::too_many_connections);
      }
    }
    return p;
  }

  // Ends an operation started with start().
  void finish(OpKind kind, workbook::Outcome outcome, bool holds_connection) {
    std::lock_guard lock(mutex);
    if (holds_connection) --stats.open_connections;
    for (OpStats* s : {&stats.by_kind[static_cast<std::size_t>(kind)], &stats.total}) {
      --s->in_flight;
      switch (outcome) {
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
  }

  // The fault an operation of `kind` starting now meets, if any (or sets
  // `hang`). Requires the lock.
  std::optional<boost::system::error_code> planned_fault(OpKind kind, bool& hang) {
    if (outage) {
      const auto now = Clock::now();
      if (now >= outage->first && now < outage->second) return make_error_code(Errc::unavailable);
    }
    for (FaultRule& rule : rules) {
      if (rule.remaining == 0 || (rule.only && *rule.only != kind)) continue;
      if (rule.type == FaultRule::Type::fail_randomly) {
        if (static_cast<double>(rng() >> 11) * 0x1.0p-53 >= rule.probability) continue;
      } else if (rule.remaining != MockDatabase::kForever) {
        --rule.remaining;
      }
      if (rule.type == FaultRule::Type::hang) {
        hang = true;
        return std::nullopt;
      }
      return rule.error;
    }
    return std::nullopt;
  }

  // Takes a place under the connection limit, or says why not.
  bool open_connection() {
    std::lock_guard lock(mutex);
    return open_connection_locked();
  }

  bool open_connection_locked() {
    const std::size_t limit = config.max_connections;
    if (limit != 0 && stats.open_connections >= limit) return false;
    stats.max_open_connections = std::max(stats.max_open_connections, ++stats.open_connections);
    return true;
  }

  void close_connection() {
    std::lock_guard lock(mutex);
    --stats.open_connections;
  }

  // Runs one operation: trace, count, fault plan, latency, then `body` on the
  // store. `body` runs only after the latency, like a reply from a server.
  template <typename Body>
  auto run(OpKind kind, std::string key, bool own_connection, Body body)
      -> asio::awaitable<decltype(body())> {
    const std::uint64_t span = trace.begin(to_string(kind), std::move(key));
    const Plan p = start(kind, own_connection);
    workbook::Outcome outcome = workbook::Outcome::failed;
    std::string detail;
    std::exception_ptr error;
    try {
      if (p.hang) {
        workbook::Timer never(co_await asio::this_coro::executor, Clock::time_point::max());
        co_await never.async_wait(asio::use_awaitable);
      } else if (p.latency > Clock::duration::zero()) {
        workbook::Timer timer(co_await asio::this_coro::executor, p.latency);
        co_await timer.async_wait(asio::use_awaitable);
      } else {
        // Even an instant operation completes asynchronously, as a real one would.
        co_await asio::post(asio::use_awaitable);
        // A post cannot be cancelled; honour a cancellation that arrived meanwhile.
        const auto cancellation = co_await asio::this_coro::cancellation_state;
        if (cancellation.cancelled() != asio::cancellation_type::none) {
          throw boost::system::system_error(asio::error::operation_aborted);
        }
      }
      if (p.error) throw boost::system::system_error(*p.error);
      auto result = body();
      trace.end(span, workbook::Outcome::ok);
      finish(kind, workbook::Outcome::ok, p.holds_connection);
      co_return std::move(result);
    } catch (const boost::system::system_error& e) {
      outcome = e.code() == asio::error::operation_aborted ? workbook::Outcome::cancelled
                                                           : workbook::Outcome::failed;
      detail = e.what();
      error = std::current_exception();
    } catch (const std::exception& e) {
      detail = e.what();
      error = std::current_exception();
    }
    trace.end(span, outcome, detail);
    finish(kind, outcome, p.holds_connection);
    std::rethrow_exception(error);
  }
};

}  // namespace detail

namespace {

// The key a span shows ("notes/42"); not built when nobody records it.
std::string row_key(const detail::Engine& engine, const std::string& table, Id id) {
  return engine.trace.enabled() ? table + "/" + std::to_string(id) : std::string();
}

// The operations shared by a connection and by the database itself; they
// differ only in whether each operation opens a connection of its own.
template <typename Base>
class Operations : public Base {
 public:
  Operations(std::shared_ptr<detail::Engine> engine, bool own_connection)
      : engine_(std::move(engine)), own_connection_(own_connection) {}

  asio::awaitable<Id> create(std::string table, Row row) override {
    return engine_->run(OpKind::create, engine_->trace.enabled() ? table : std::string(),
                        own_connection_, [e = engine_, table, row = std::move(row)]() mutable {
                          return e->store.insert(table, std::move(row));
                        });
  }

  asio::awaitable<std::optional<Row>> read(std::string table, Id id) override {
    return engine_->run(OpKind::read, row_key(*engine_, table, id), own_connection_,
                        [e = engine_, table, id] { return e->store.find(table, id); });
  }

  asio::awaitable<bool> update(std::string table, Id id, Row fields) override {
    return engine_->run(OpKind::update, row_key(*engine_, table, id), own_connection_,
                        [e = engine_, table, id, fields = std::move(fields)] {
                          return e->store.update(table, id, fields);
                        });
  }

  asio::awaitable<bool> remove(std::string table, Id id) override {
    return engine_->run(OpKind::remove, row_key(*engine_, table, id), own_connection_,
                        [e = engine_, table, id] { return e->store.erase(table, id); });
  }

  asio::awaitable<Rows> query(std::string sql, Params params) override {
    return engine_->run(OpKind::query, sql, own_connection_,
                        [e = engine_, sql, params = std::move(params)] {
                          return e->store.select(parse_query(sql), params).rows;
                        });
  }

 protected:
  std::shared_ptr<detail::Engine> engine_;
  bool own_connection_;
};

class MockConnection final : public Operations<Connection> {
 public:
  explicit MockConnection(std::shared_ptr<detail::Engine> engine)
      : Operations(std::move(engine), false) {}
  ~MockConnection() override { engine_->close_connection(); }
  MockConnection(const MockConnection&) = delete;
  MockConnection& operator=(const MockConnection&) = delete;
};

// The direct operations of MockDatabase, each on a connection of its own.
using DirectOperations = Operations<Session>;

}  // namespace

// ---------------------------------------------------------------- MockDatabase

MockDatabase::MockDatabase(MockConfig config) : engine_(std::make_shared<detail::Engine>(config)) {}

MockDatabase::~MockDatabase() = default;

asio::awaitable<std::unique_ptr<Connection>> MockDatabase::connect() {
  return engine_->run(OpKind::connect, "", false, [e = engine_]() -> std::unique_ptr<Connection> {
    if (!e->open_connection()) {
      throw boost::system::system_error(make_error_code(Errc::too_many_connections));
    }
    return std::make_unique<MockConnection>(e);
  });
}

asio::awaitable<Id> MockDatabase::create(std::string table, Row row) {
  return DirectOperations(engine_, true).create(std::move(table), std::move(row));
}

asio::awaitable<std::optional<Row>> MockDatabase::read(std::string table, Id id) {
  return DirectOperations(engine_, true).read(std::move(table), id);
}

asio::awaitable<bool> MockDatabase::update(std::string table, Id id, Row fields) {
  return DirectOperations(engine_, true).update(std::move(table), id, std::move(fields));
}

asio::awaitable<bool> MockDatabase::remove(std::string table, Id id) {
  return DirectOperations(engine_, true).remove(std::move(table), id);
}

asio::awaitable<Rows> MockDatabase::query(std::string sql, Params params) {
  return DirectOperations(engine_, true).query(std::move(sql), std::move(params));
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

void MockDatabase::hang_next(std::size_t count, std::optional<OpKind> only) {
  std::lock_guard lock(engine_->mutex);
  engine_->rules.push_back({detail::FaultRule::Type::hang, count, 0.0, {}, only});
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

void MockDatabase::clear_faults() {
  std::lock_guard lock(engine_->mutex);
  engine_->rules.clear();
  engine_->outage.reset();
}

Stats MockDatabase::stats() const {
  std::lock_guard lock(engine_->mutex);
  Stats s = engine_->stats;
  s.rows_scanned = engine_->store.total_rows_scanned();
  return s;
}

void MockDatabase::reset_stats() {
  std::lock_guard lock(engine_->mutex);
  Stats& s = engine_->stats;
  const auto restart = [](OpStats& op) {
    op = OpStats{.in_flight = op.in_flight, .max_in_flight = op.in_flight};
  };
  restart(s.total);
  for (OpStats& op : s.by_kind) restart(op);
  s.max_open_connections = s.open_connections;
}

workbook::Trace& MockDatabase::trace() noexcept { return engine_->trace; }

std::optional<Row> MockDatabase::peek(const std::string& table, Id id) const {
  return engine_->store.find(table, id);
}

std::size_t MockDatabase::count(const std::string& table) const {
  return engine_->store.size(table);
}

}  // namespace mockdb
