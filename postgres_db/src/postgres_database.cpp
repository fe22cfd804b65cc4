// PostgresDatabase: the pool, the caller's own connections, and the five operations on a
// PgConnection (see postgres_database.hpp for the rules they follow).
#include "pgdb/postgres_database.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <charconv>
#include <cstring>
#include <mutex>
#include <type_traits>
#include <utility>

#include "mockdb/query.hpp"
#include "pg_connection.hpp"
#include "translate.hpp"

namespace pgdb {
namespace detail {

namespace asio = boost::asio;
namespace json = boost::json;
using mockdb::Id;
using mockdb::Row;
using mockdb::Rows;

// ------------------------------------------------------------------ the operations

namespace {

Id parse_id(const char* text) {
  Id id = 0;
  (void)std::from_chars(text, text + std::strlen(text), id);
  return id;
}

// A result row's doc (jsonb as text) with "id" added back: the workbook's Row.
Row to_row(const PGresult* r, int row, int doc_column, Id id) {
  const std::string_view text(PQgetvalue(r, row, doc_column),
                              static_cast<std::size_t>(PQgetlength(r, row, doc_column)));
  Row result = std::move(json::parse(text).as_object());
  result["id"] = id;
  return result;
}

bool is_state(const mockdb::DatabaseError& e, std::string_view state) {
  return sqlstate(e.code()) == state;
}

// "UPDATE 1" / "DELETE 0": did the statement touch a row?
bool touched_a_row(PGresult* r) { return std::strcmp(PQcmdTuples(r), "0") != 0; }

// CREATE TABLE IF NOT EXISTS is not race-free: two sessions creating the same table at once
// can both pass the "exists?" check, and the loser fails, with duplicate_object (42710: the
// table's row type exists), unique_violation (23505, on a catalog) or duplicate_table (42P07)
// depending on where the two meet. The loser's error comes only once the winner has
// committed, so the table now exists, which is all we want. (The tests met all of this.)
bool lost_create_race(const mockdb::DatabaseError& e) {
  return is_state(e, "42710") || is_state(e, "23505") || is_state(e, "42P07");
}

asio::awaitable<void> ensure_table(PgConnection& c, const std::string& table) {
  try {
    // (Statements and results are named, not temporaries, in co_await expressions: GCC 12
    // destroys some such temporaries twice.)
    const Statement create = create_table(table);
    const Result done = co_await c.exec(create);
  } catch (const mockdb::DatabaseError& e) {
    if (!lost_create_race(e)) throw;
  }
}

asio::awaitable<Id> create_on(PgConnection& c, std::string table, Row row) {
  const Statement insert = insert_row(table, std::move(row));
  // Optimistic: the table usually exists, so try the INSERT first (one round trip), and
  // create the table only when the server says it is missing (42P01, undefined_table).
  try {
    const Result r = co_await c.exec(insert);
    co_return parse_id(PQgetvalue(r.get(), 0, 0));
  } catch (const mockdb::DatabaseError& e) {
    if (!is_state(e, "42P01")) throw;
  }
  co_await ensure_table(c, table);
  const Result r = co_await c.exec(insert);
  co_return parse_id(PQgetvalue(r.get(), 0, 0));
}

// read, update and remove of a table that does not exist: no row (as the mock), no error.
asio::awaitable<std::optional<Row>> read_on(PgConnection& c, std::string table, Id id) {
  try {
    const Statement select = select_row(table, id);
    const Result r = co_await c.exec(select);
    if (PQntuples(r.get()) == 0) co_return std::nullopt;
    co_return to_row(r.get(), 0, 0, id);
  } catch (const mockdb::DatabaseError& e) {
    if (!is_state(e, "42P01")) throw;
  }
  co_return std::nullopt;
}

asio::awaitable<bool> update_on(PgConnection& c, std::string table, Id id, Row fields) {
  try {
    const Statement update = update_row(table, id, std::move(fields));
    const Result r = co_await c.exec(update);
    co_return touched_a_row(r.get());
  } catch (const mockdb::DatabaseError& e) {
    if (!is_state(e, "42P01")) throw;
  }
  co_return false;
}

asio::awaitable<bool> remove_on(PgConnection& c, std::string table, Id id) {
  try {
    const Statement remove = delete_row(table, id);
    const Result r = co_await c.exec(remove);
    co_return touched_a_row(r.get());
  } catch (const mockdb::DatabaseError& e) {
    if (!is_state(e, "42P01")) throw;
  }
  co_return false;
}

asio::awaitable<Rows> query_on(PgConnection& c, std::string sql, mockdb::Params params) {
  // Parsed (a syntax error is thrown here) and translated before anything is sent.
  const Statement select = select_query(mockdb::parse_query(sql), params);
  const Result r = co_await c.exec(select);
  Rows rows;
  const int n = PQntuples(r.get());
  rows.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    rows.push_back(to_row(r.get(), i, 1, parse_id(PQgetvalue(r.get(), i, 0))));
  co_return rows;
}

// All rows in one transaction. With pipelining, CREATE TABLE IF NOT EXISTS and every INSERT go
// out together, and the replies come back together: one round trip instead of n + 1.
asio::awaitable<std::vector<Id>> create_many_on(PgConnection& c, std::string table, Rows rows,
                                                bool pipeline,
                                                std::atomic<std::uint64_t>& pipelined) {
  std::vector<Statement> batch;
  batch.reserve(rows.size() + 1);
  batch.push_back(create_table(table));
  for (Row& row : rows) batch.push_back(insert_row(table, std::move(row)));
  std::vector<Id> ids;
  ids.reserve(rows.size());
  if (pipeline) {
    std::vector<Result> results;
    for (int attempt = 0;; ++attempt) {
      pipelined += batch.size();
      try {
        results = co_await c.exec_pipeline(batch);
        break;
      } catch (const mockdb::DatabaseError& e) {
        // Lost a race to create the table (see ensure_table): it exists now, so try again.
        if (attempt > 0 || !lost_create_race(e)) throw;
      }
    }
    for (std::size_t i = 1; i < results.size(); ++i) {
      ids.push_back(parse_id(PQgetvalue(results[i].get(), 0, 0)));
    }
    co_return ids;
  }
  // One statement per round trip, in an explicit transaction. If one fails, the connection is
  // left in the failed transaction and is discarded (never reused), which rolls it back.
  co_await ensure_table(c, table);
  const Statement begin{"BEGIN", {}};
  const Statement commit{"COMMIT", {}};
  const Result begun = co_await c.exec(begin);
  for (std::size_t i = 1; i < batch.size(); ++i) {
    const Result r = co_await c.exec(batch[i]);
    ids.push_back(parse_id(PQgetvalue(r.get(), 0, 0)));
  }
  const Result committed = co_await c.exec(commit);
  co_return ids;
}

}  // namespace

// ------------------------------------------------------------------ the pool

struct Pool {
  Pool(asio::any_io_executor ex, Options o)
      : executor(std::move(ex)),
        options(std::move(o)),
        canceller(std::make_shared<Canceller>(options.cancel_threads)) {}

  asio::any_io_executor executor;  // where sockets are waited on
  const Options options;
  std::shared_ptr<Canceller> canceller;
  std::atomic<std::uint64_t> pipelined{0};

  std::mutex mutex;  // guards the two below
  std::vector<std::unique_ptr<PgConnection>> idle;
  std::size_t open = 0;  // idle + borrowed + the callers' own + being opened

  // Takes a place under the limit for a new connection; false if none is left.
  bool take_place() {
    std::lock_guard lock(mutex);
    if (open >= options.max_connections) return false;
    ++open;
    return true;
  }

  void free_place() {
    std::lock_guard lock(mutex);
    --open;
  }

  std::unique_ptr<PgConnection> take_idle() {
    std::lock_guard lock(mutex);
    if (idle.empty()) return nullptr;
    std::unique_ptr<PgConnection> c = std::move(idle.back());
    idle.pop_back();
    return c;
  }

  // Gives a connection back: to the idle list if it can run another statement, else closes
  // it (its destructor cancels a statement still running) and frees its place.
  void give_back(std::unique_ptr<PgConnection> c) {
    if (c->reusable()) {
      std::lock_guard lock(mutex);
      idle.push_back(std::move(c));
      return;
    }
    free_place();
    c.reset();  // outside the lock: it may queue a cancel request
  }
};

namespace {

// A refusal still completes asynchronously: the caller's coroutine is resumed by the event
// loop, after the handlers already waiting there, as the mock and every Asio operation do.
// Thrown inline instead, a caller that retries at once (chapter 06's retry storm) would spin
// on this thread and never let the loop run anything else, not even its own deadline.
asio::awaitable<void> yield_to_the_loop() {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
}

[[noreturn]] void throw_pool_exhausted(const Pool& pool) {
  mockdb::throw_database_error(mockdb::Errc::too_many_connections,
                               "all " + std::to_string(pool.options.max_connections) +
                                   " connections of the pool are in use");
}

// A place under the limit, freed by the destructor unless kept (by a connection that got it).
class Place {
 public:
  explicit Place(Pool& pool) : pool_(&pool) {}
  ~Place() {
    if (pool_ != nullptr) pool_->free_place();
  }
  Place(const Place&) = delete;
  Place& operator=(const Place&) = delete;
  void keep() noexcept { pool_ = nullptr; }

 private:
  Pool* pool_;
};

// A connection for a place already taken.
asio::awaitable<std::unique_ptr<PgConnection>> open_in_place(const std::shared_ptr<Pool>& pool) {
  Place place(*pool);  // freed if connecting fails or is cancelled
  auto c = co_await PgConnection::open(pool->executor, pool->options.conninfo, pool->canceller);
  place.keep();
  co_return c;
}

// A connection lent to one direct operation; the destructor gives it back to the pool, or
// discards it, however the operation ended (frame destroyed while suspended included).
class Lease {
 public:
  Lease(std::shared_ptr<Pool> pool, std::unique_ptr<PgConnection> c)
      : pool_(std::move(pool)), connection_(std::move(c)) {}
  ~Lease() {
    if (connection_) pool_->give_back(std::move(connection_));
  }
  Lease(Lease&&) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  PgConnection& connection() noexcept { return *connection_; }

 private:
  std::shared_ptr<Pool> pool_;
  std::unique_ptr<PgConnection> connection_;
};

// An idle connection, or a new one under the limit; never a wait for one to be given back.
asio::awaitable<Lease> borrow(std::shared_ptr<Pool> pool) {
  if (auto c = pool->take_idle()) co_return Lease(pool, std::move(c));
  if (!pool->take_place()) {
    co_await yield_to_the_loop();
    throw_pool_exhausted(*pool);
  }
  auto c = co_await open_in_place(pool);
  co_return Lease(std::move(pool), std::move(c));
}

// Runs `op` on a borrowed connection. The operations take their arguments by value, so the
// awaitable `op` returns owns them; `op` itself only has to live for the call.
template <typename Op>
auto on_borrowed(std::shared_ptr<Pool> pool, Op op) -> std::invoke_result_t<Op&, PgConnection&> {
  Lease lease = co_await borrow(std::move(pool));
  co_return co_await op(lease.connection());
}

// ------------------------------------------------------------------ the caller's connections

// A caller's connection, shared by its Connection object and the operation running on it, so
// that either may end first.
struct UserState {
  std::shared_ptr<Pool> pool;
  std::mutex mutex;                          // guards the members below
  std::unique_ptr<PgConnection> connection;  // null once closed or broken
  bool busy = false;                         // an operation is running
  bool holds_place = true;                   // counted under the pool's limit

  // Closes the connection (or leaves it to the running operation) and frees its place.
  void close() {
    std::unique_ptr<PgConnection> doomed;
    {
      std::lock_guard lock(mutex);
      if (!busy) doomed = std::move(connection);
      if (holds_place) pool->free_place();
      holds_place = false;
    }
  }
};

// Marks the connection busy for one operation; the destructor ends the operation, and breaks
// the connection if the conversation is in an unknown state (cancelled midway, connection
// lost), or drops it if the caller closed it meanwhile.
class Busy {
 public:
  explicit Busy(std::shared_ptr<UserState> state) : state_(std::move(state)) {
    std::lock_guard lock(state_->mutex);
    if (!state_->connection || !state_->holds_place) {
      mockdb::throw_database_error(mockdb::Errc::connection_closed);
    }
    if (state_->busy) mockdb::throw_database_error(mockdb::Errc::operation_in_progress);
    state_->busy = true;
    connection_ = state_->connection.get();
  }
  ~Busy() {
    std::unique_ptr<PgConnection> doomed;
    std::lock_guard lock(state_->mutex);
    state_->busy = false;
    if (!state_->holds_place || !connection_->reusable()) {
      doomed = std::move(state_->connection);
      if (state_->holds_place) state_->pool->free_place();
      state_->holds_place = false;
    }
  }
  Busy(const Busy&) = delete;
  Busy& operator=(const Busy&) = delete;
  PgConnection& connection() noexcept { return *connection_; }

 private:
  std::shared_ptr<UserState> state_;
  PgConnection* connection_ = nullptr;
};

template <typename Op>
auto on_own(std::shared_ptr<UserState> state, Op op) -> std::invoke_result_t<Op&, PgConnection&> {
  std::optional<Busy> busy;
  std::exception_ptr refused;
  try {
    busy.emplace(std::move(state));  // throws connection_closed or operation_in_progress
  } catch (const mockdb::DatabaseError&) {
    refused = std::current_exception();
  }
  if (refused) {
    co_await yield_to_the_loop();
    std::rethrow_exception(refused);
  }
  co_return co_await op(busy->connection());
}

class PgUserConnection final : public mockdb::Connection {
 public:
  explicit PgUserConnection(std::shared_ptr<UserState> state) : state_(std::move(state)) {}
  ~PgUserConnection() override { state_->close(); }
  PgUserConnection(const PgUserConnection&) = delete;
  PgUserConnection& operator=(const PgUserConnection&) = delete;

  asio::awaitable<Id> create(std::string table, Row row) override {
    return on_own(state_, [t = std::move(table), r = std::move(row)](PgConnection& c) mutable {
      return create_on(c, std::move(t), std::move(r));
    });
  }
  asio::awaitable<std::optional<Row>> read(std::string table, Id id) override {
    return on_own(state_, [t = std::move(table), id](PgConnection& c) mutable {
      return read_on(c, std::move(t), id);
    });
  }
  asio::awaitable<bool> update(std::string table, Id id, Row fields) override {
    return on_own(state_,
                  [t = std::move(table), id, f = std::move(fields)](PgConnection& c) mutable {
                    return update_on(c, std::move(t), id, std::move(f));
                  });
  }
  asio::awaitable<bool> remove(std::string table, Id id) override {
    return on_own(state_, [t = std::move(table), id](PgConnection& c) mutable {
      return remove_on(c, std::move(t), id);
    });
  }
  asio::awaitable<Rows> query(std::string sql, mockdb::Params params) override {
    return on_own(state_, [s = std::move(sql), p = std::move(params)](PgConnection& c) mutable {
      return query_on(c, std::move(s), std::move(p));
    });
  }
  asio::awaitable<void> close() override {
    state_->close();
    // Completes asynchronously, like every operation.
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  }

 private:
  std::shared_ptr<UserState> state_;
};

asio::awaitable<std::unique_ptr<mockdb::Connection>> connect_own(std::shared_ptr<Pool> pool) {
  auto c = pool->take_idle();  // an idle pooled connection already holds a place
  if (!c) {
    if (!pool->take_place()) {
      co_await yield_to_the_loop();
      throw_pool_exhausted(*pool);
    }
    c = co_await open_in_place(pool);
  }
  auto state = std::make_shared<UserState>();
  state->pool = std::move(pool);
  state->connection = std::move(c);
  co_return std::make_unique<PgUserConnection>(std::move(state));
}

}  // namespace
}  // namespace detail

// ------------------------------------------------------------------ PostgresDatabase

// Each member function hands a copy of pool_ to a coroutine: the coroutine's frame keeps the
// pool alive, so the database may be destroyed while operations are in flight.
using detail::on_borrowed;
using detail::PgConnection;

PostgresDatabase::PostgresDatabase(boost::asio::any_io_executor executor, Options options)
    : pool_(std::make_shared<detail::Pool>(std::move(executor), std::move(options))) {}

PostgresDatabase::~PostgresDatabase() = default;

boost::asio::awaitable<std::unique_ptr<mockdb::Connection>> PostgresDatabase::connect() {
  return detail::connect_own(pool_);
}

boost::asio::awaitable<mockdb::Id> PostgresDatabase::create(std::string table, mockdb::Row row) {
  return on_borrowed(pool_, [t = std::move(table), r = std::move(row)](PgConnection& c) mutable {
    return detail::create_on(c, std::move(t), std::move(r));
  });
}

boost::asio::awaitable<std::optional<mockdb::Row>> PostgresDatabase::read(std::string table,
                                                                          mockdb::Id id) {
  return on_borrowed(pool_, [t = std::move(table), id](PgConnection& c) mutable {
    return detail::read_on(c, std::move(t), id);
  });
}

boost::asio::awaitable<bool> PostgresDatabase::update(std::string table, mockdb::Id id,
                                                      mockdb::Row fields) {
  return on_borrowed(pool_,
                     [t = std::move(table), id, f = std::move(fields)](PgConnection& c) mutable {
                       return detail::update_on(c, std::move(t), id, std::move(f));
                     });
}

boost::asio::awaitable<bool> PostgresDatabase::remove(std::string table, mockdb::Id id) {
  return on_borrowed(pool_, [t = std::move(table), id](PgConnection& c) mutable {
    return detail::remove_on(c, std::move(t), id);
  });
}

boost::asio::awaitable<mockdb::Rows> PostgresDatabase::query(std::string sql,
                                                             mockdb::Params params) {
  return on_borrowed(pool_, [s = std::move(sql), p = std::move(params)](PgConnection& c) mutable {
    return detail::query_on(c, std::move(s), std::move(p));
  });
}

boost::asio::awaitable<std::vector<mockdb::Id>> PostgresDatabase::create_many(std::string table,
                                                                              mockdb::Rows rows) {
  return on_borrowed(
      pool_, [pool = pool_, t = std::move(table), r = std::move(rows)](PgConnection& c) mutable {
        return detail::create_many_on(c, std::move(t), std::move(r), pool->options.pipeline,
                                      pool->pipelined);
      });
}

std::uint64_t PostgresDatabase::pipelined_statements() const noexcept { return pool_->pipelined; }

std::size_t PostgresDatabase::open_connections() const {
  std::lock_guard lock(pool_->mutex);
  return pool_->open;
}

}  // namespace pgdb
