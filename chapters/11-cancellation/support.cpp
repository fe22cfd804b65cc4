// Chapter 11's provided building blocks: the connection pool with its
// cancellation-safe Lease, the single read and the delayed read (the hedge),
// and sample data. The pitfall and the fix differ only in note_service.cpp.
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/channel_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <utility>

#include "mockdb/errors.hpp"
#include "note_service.hpp"
#include "workbook/timer.hpp"

namespace asio = boost::asio;

namespace ch11 {

Lease::Lease(ConnectionPool& pool, std::unique_ptr<mockdb::Connection> connection) noexcept
    : pool_(&pool), connection_(std::move(connection)) {}

Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), connection_(std::move(other.connection_)), in_doubt_(other.in_doubt_) {}

Lease::~Lease() {
  if (connection_) pool_->give_back(std::move(connection_), !in_doubt_);
}

namespace {
// Whether a failure leaves the connection usable: a cancellation midway or a
// failure of the connection itself breaks it (mockdb/database.hpp); a query
// error, a missing table, ... do not.
bool leaves_connection_sound(const boost::system::system_error& failure) {
  return failure.code() != asio::error::operation_aborted &&
         failure.code() != mockdb::ErrorClass::connection_failure;
}
}  // namespace

asio::awaitable<std::optional<mockdb::Row>> Lease::read(std::string table, mockdb::Id id) {
  in_doubt_ = true;  // stays set if this frame is destroyed or cancelled midway
  try {
    auto row = co_await connection_->read(std::move(table), id);
    in_doubt_ = false;
    co_return row;
  } catch (const boost::system::system_error& failure) {
    in_doubt_ = !leaves_connection_sound(failure);
    throw;
  }
}

asio::awaitable<mockdb::Id> Lease::create(std::string table, mockdb::Row row) {
  in_doubt_ = true;
  try {
    const mockdb::Id id = co_await connection_->create(std::move(table), std::move(row));
    in_doubt_ = false;
    co_return id;
  } catch (const boost::system::system_error& failure) {
    in_doubt_ = !leaves_connection_sound(failure);
    throw;
  }
}

ConnectionPool::ConnectionPool(const asio::any_io_executor& executor, mockdb::DatabaseService& db,
                               std::size_t size, workbook::Trace* trace)
    : db_(db), size_(size), trace_(trace), free_(size), handoff_(executor, 0) {}

ConnectionPool::~ConnectionPool() = default;

void ConnectionPool::release_place() noexcept {
  // To the first waiting acquire(), if any (an unbuffered channel accepts a
  // message only when a receive is waiting for it); otherwise kept.
  if (!handoff_.try_send(boost::system::error_code{})) ++free_;
}

// A place in the pool, given back unless release() hands it on to a Lease:
// so a cancelled or failed connect does not shrink the pool.
class PoolPlace {
 public:
  explicit PoolPlace(ConnectionPool& pool) : pool_(&pool) {}
  ~PoolPlace() {
    if (pool_ != nullptr) pool_->release_place();
  }
  PoolPlace(const PoolPlace&) = delete;
  PoolPlace& operator=(const PoolPlace&) = delete;
  void release() noexcept { pool_ = nullptr; }

 private:
  ConnectionPool* pool_;
};

asio::awaitable<Lease> ConnectionPool::acquire() {
  if (free_ > 0) {
    --free_;
  } else {
    // None free: wait for one to be handed over, and show the wait on the timeline.
    const std::uint64_t span = trace_ != nullptr ? trace_->begin("wait", "pool") : 0;
    try {
      co_await handoff_.async_receive(asio::use_awaitable);
    } catch (const boost::system::system_error& failure) {
      // A cancelled receive completes with channel_cancelled, not
      // operation_aborted (experimental/channel_traits.hpp,
      // invoke_receive_cancelled): say "cancelled" the way every other
      // operation does.
      const bool cancelled = failure.code() == asio::experimental::error::channel_cancelled;
      if (trace_ != nullptr) {
        trace_->end(span, cancelled ? workbook::Outcome::cancelled : workbook::Outcome::failed,
                    "stopped waiting for a connection");
      }
      if (cancelled) throw boost::system::system_error(asio::error::operation_aborted);
      throw;
    }
    if (trace_ != nullptr) trace_->end(span, workbook::Outcome::ok);
  }
  PoolPlace place(*this);
  std::unique_ptr<mockdb::Connection> connection;
  if (!idle_.empty()) {
    connection = std::move(idle_.back());
    idle_.pop_back();
  } else {
    connection = co_await db_.connect();
  }
  place.release();
  ++lent_;
  co_return Lease(*this, std::move(connection));
}

void ConnectionPool::give_back(std::unique_ptr<mockdb::Connection> connection,
                               bool sound) noexcept {
  --lent_;
  if (sound) {
    idle_.push_back(std::move(connection));
  } else {
    ++discarded_;
    connection.reset();  // closes it: the next acquire() opens a fresh one
  }
  release_place();
}

asio::awaitable<std::optional<mockdb::Row>> read_once(ConnectionPool& pool, mockdb::Id id) {
  Lease lease = co_await pool.acquire();
  co_return co_await lease.read(kNotesTable, id);
}

asio::awaitable<std::optional<mockdb::Row>> read_after(workbook::Clock::duration delay,
                                                       ConnectionPool& pool, mockdb::Id id) {
  co_await workbook::sleep_for(delay);
  co_return co_await read_once(pool, id);
}

asio::awaitable<void> add_sample_notes(mockdb::DatabaseService& db, int count) {
  for (int i = 1; i <= count; ++i) {
    mockdb::Row note;
    note["title"] = "note " + std::to_string(i);
    co_await db.create(kNotesTable, std::move(note));
  }
}

}  // namespace ch11
