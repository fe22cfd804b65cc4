// MockDatabase: the embedded, in-memory database every chapter runs against.
//
// It behaves like a remote database where it matters for async code: every
// operation completes asynchronously after a configurable latency, a limited
// number of connections may be open, a limited number of operations may run
// at once (the capacity model below), each connection follows the rules that
// database.hpp sets out (one operation at a time; broken by a failure of the
// connection or a cancellation mid-operation), and faults can be injected:
// errors, random failures, hangs, outages, a reply lost after the write took
// effect, and a server that goes on with a statement its client cancelled.
// It also counts what happened (operations in flight, failures,
// cancellations, rows scanned) and keeps a bounded trace of every operation,
// with the connection it ran on, so tests can assert on behaviour and demos
// can draw it.
//
// Latency runs on workbook::Clock: real in demos and benchmarks, virtual in
// tests. All member functions are safe to call from several threads.
#pragma once

#include <array>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <random>

#include "mockdb/database.hpp"
#include "mockdb/errors.hpp"
#include "workbook/clock.hpp"
#include "workbook/trace.hpp"

namespace mockdb {

// The capacity model (MockConfig::capacity, set_capacity). A real database
// has a few cores and disks: past some number of statements at once, more
// concurrency adds no throughput, only waiting. With a capacity C, the mock
// runs at most C operations at once (connect included) and queues the rest
// in arrival order; an operation's latency starts when it leaves the queue,
// so its time queued adds to it. C operations of latency L complete per L:
// C = 4 with 8 operations of 10 ms started together ends at 20 ms. A queued
// operation counts as in flight and holds its connection (a direct operation
// borrows its connection on arrival), as a statement sent to a busy server
// does; cancelling it takes it out of the queue at once. A running operation
// keeps its place until it completes, is cancelled (with
// CancelEffect::server_finishes, until it would have completed: the server
// goes on with it) or, if it hangs, for good. Operations refused before they
// reach the server (a closed, broken or busy connection, no connection under
// the limit, an outage) never queue. The trace shows each operation's time
// queued (Span::links.queued), and Stats counts it. Capacity 0, the default,
// means no limit and costs nothing.

/// The kinds of database operation, for latency, faults and statistics.
enum class OpKind { connect, create, read, update, remove, query };

/// The number of OpKind values.
inline constexpr std::size_t kOpKinds = 6;

/// "connect", "create", "read", "update", "remove" or "query".
const char* to_string(OpKind kind) noexcept;

/// How long an operation takes: fixed, or drawn from a seeded distribution.
class Latency {
 public:
  /// No latency: the operation still completes asynchronously (after a post).
  static Latency none() noexcept;
  /// Always `d`.
  static Latency fixed(workbook::Clock::duration d) noexcept;
  /// Uniformly distributed between `low` and `high`.
  static Latency uniform(workbook::Clock::duration low, workbook::Clock::duration high) noexcept;
  /// Log-normal: half the operations take less than `median`, one in a hundred
  /// takes longer than `p99`. Models a database with occasional slow requests.
  static Latency long_tail(workbook::Clock::duration median,
                           workbook::Clock::duration p99) noexcept;

  /// One latency drawn with `rng`.
  workbook::Clock::duration sample(std::mt19937_64& rng) const;

 private:
  enum class Shape { fixed, uniform, long_tail };
  Latency(Shape shape, workbook::Clock::duration a, workbook::Clock::duration b) noexcept
      : shape_(shape), a_(a), b_(b) {}
  Shape shape_;
  workbook::Clock::duration a_;
  workbook::Clock::duration b_;
};

/// How a MockDatabase starts out.
struct MockConfig {
  /// Seeds every random choice (latency, random failures), so runs repeat.
  std::uint64_t seed = 1;
  /// At most this many connections open at once; 0 means no limit.
  std::size_t max_connections = 100;
  /// The latency of connect().
  Latency connect_latency = Latency::none();
  /// The latency of every other operation.
  Latency operation_latency = Latency::none();
  /// Record a span per operation in trace().
  bool trace = true;
  /// At most this many operations run at once; the rest queue in arrival
  /// order (see the capacity model above). 0 means no limit.
  std::size_t capacity = 0;
};

/// What the server does with an operation whose client cancelled it midway.
enum class CancelEffect {
  /// The server stops too: the operation has no effect (the default).
  server_stops,
  /// The server goes on: the operation takes effect when it would have
  /// completed, though its client saw it cancelled (as PostgreSQL does with a
  /// statement whose client disconnected, until it notices).
  server_finishes,
};

/// Counters for one kind of operation (or for all of them). Every operation
/// begun is ended exactly once, as succeeded, failed or cancelled, even when
/// the coroutine awaiting it is destroyed before it completes (that counts as
/// cancelled, and frees its connection).
struct OpStats {
  std::uint64_t started = 0;      ///< Operations begun.
  std::uint64_t succeeded = 0;    ///< Completed without error.
  std::uint64_t failed = 0;       ///< Completed with an error.
  std::uint64_t cancelled = 0;    ///< Ended by cancellation (operation_aborted).
  std::size_t in_flight = 0;      ///< Begun and not yet ended.
  std::size_t max_in_flight = 0;  ///< The most in flight at any one time.
};

/// A snapshot of a MockDatabase's counters.
struct Stats {
  std::array<OpStats, kOpKinds> by_kind{};  ///< Indexed by OpKind.
  OpStats total;                            ///< All kinds together.
  std::size_t open_connections = 0;         ///< Connections open now.
  std::size_t max_open_connections = 0;     ///< The most open at any one time.
  std::uint64_t rows_scanned = 0;           ///< Rows examined by all queries.
  std::size_t max_running = 0;              ///< The most running under the capacity at once.
  std::size_t queued = 0;                   ///< Operations waiting for the capacity now.
  std::size_t max_queued = 0;               ///< The most waiting at any one time.
  std::uint64_t ops_queued = 0;             ///< Operations that had to wait at all.
  workbook::Clock::duration time_queued{};  ///< The time all operations spent waiting.

  /// The counters of one kind of operation.
  const OpStats& operator[](OpKind kind) const noexcept {
    return by_kind[static_cast<std::size_t>(kind)];
  }
};

namespace detail {
struct Engine;
}

/// The in-memory database with latency, faults and instrumentation.
class MockDatabase final : public DatabaseService {
 public:
  /// A count for hang_next() and fail_next(): every matching operation, for good.
  static constexpr std::size_t kForever = std::numeric_limits<std::size_t>::max();

  /// An empty database configured by `config`.
  explicit MockDatabase(MockConfig config = {});
  ~MockDatabase() override;
  MockDatabase(const MockDatabase&) = delete;
  MockDatabase& operator=(const MockDatabase&) = delete;

  boost::asio::awaitable<std::unique_ptr<Connection>> connect() override;
  boost::asio::awaitable<Id> create(std::string table, Row row) override;
  boost::asio::awaitable<std::optional<Row>> read(std::string table, Id id) override;
  boost::asio::awaitable<bool> update(std::string table, Id id, Row fields) override;
  boost::asio::awaitable<bool> remove(std::string table, Id id) override;
  boost::asio::awaitable<Rows> query(std::string sql, Params params = {}) override;

  /// Sets the latency of one kind of operation.
  void set_latency(OpKind kind, Latency latency);
  /// Sets the latency of every kind of operation except connect.
  void set_latency(Latency latency);

  /// The next `count` operations (of kind `only`, if given) fail with `error`:
  /// one of the mock's codes, or any other (a code of another category that
  /// maps onto an ErrorClass plays another backend's error), thrown as a
  /// DatabaseError with that very code.
  void fail_next(std::size_t count, boost::system::error_code error = Errc::connection_reset,
                 std::optional<OpKind> only = std::nullopt);
  /// Each operation (of kind `only`, if given) fails with `error` with
  /// probability `probability`, drawn from the seeded generator.
  void fail_randomly(double probability, boost::system::error_code error = Errc::connection_reset,
                     std::optional<OpKind> only = std::nullopt);
  /// The next `count` operations (of kind `only`, if given) take effect, and
  /// then fail with `error` as if the reply was lost: the write happened, but
  /// the client is told it failed. A retry of such a write writes it twice.
  void fail_after_effect_next(std::size_t count,
                              boost::system::error_code error = Errc::connection_reset,
                              std::optional<OpKind> only = std::nullopt);
  /// The next `count` operations (of kind `only`, if given) never complete
  /// unless they are cancelled. Each holds its connection while it hangs.
  void hang_next(std::size_t count, std::optional<OpKind> only = std::nullopt);
  /// What the server does with operations cancelled midway (see CancelEffect).
  void set_cancel_effect(CancelEffect effect);
  /// From `starts_in` from now, for `lasts`, every operation fails with
  /// Errc::unavailable. The outage comes first: an operation that meets it
  /// takes none of the faults set by fail_next(), hang_next() and the like,
  /// which wait for the first operation after it.
  void outage(workbook::Clock::duration starts_in, workbook::Clock::duration lasts);
  /// Changes the connection limit (0 means no limit).
  void set_max_connections(std::size_t limit);
  /// Changes the capacity: at most `limit` operations run at once (0 means no
  /// limit). Raising it starts queued operations at once; lowering it lets the
  /// running ones finish.
  void set_capacity(std::size_t limit);
  /// Removes every fault set by the functions above (not the connection limit,
  /// nor the cancel effect).
  void clear_faults();

  /// A snapshot of the counters.
  Stats stats() const;
  /// Sets every counter to zero, rows_scanned included (operations in flight,
  /// operations queued and open connections stay counted as such), e.g. after a test has loaded
  /// its data.
  void reset_stats();
  /// The trace of every operation (spans named after OpKind).
  workbook::Trace& trace() noexcept;

  /// Reads a row at once, without latency, faults or counting: for tests that
  /// check what was written.
  std::optional<Row> peek(const std::string& table, Id id) const;
  /// The number of rows in `table`, at once (0 for an unknown table).
  std::size_t count(const std::string& table) const;

 private:
  std::shared_ptr<detail::Engine> engine_;
  std::unique_ptr<Queryable> direct_;  // the operations that borrow a connection each
};

}  // namespace mockdb
