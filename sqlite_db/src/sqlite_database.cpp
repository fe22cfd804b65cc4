// SqliteDatabase: how a blocking driver is offloaded from the event loop.
//
// Each operation becomes a Job (pool.hpp) that a worker thread runs on its own
// sqlite3 connection. The awaiting coroutine is suspended by
// asio::async_initiate; its completion handler waits in the job, together with
// a work guard on the caller's executor (so the caller's io_context does not
// run out of work and return while the job runs), and is resumed by a post to
// that executor: never on a pool thread. The coroutine's cancellation slot is
// connected to the job, so a cancelled operation leaves the queue at once, or
// is interrupted if a worker already runs it.
#include "sqlitedb/sqlite_database.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <thread>
#include <vector>

#include "errors.hpp"
#include "pool.hpp"
#include "session.hpp"
#include "translate.hpp"

namespace sqlitedb {
namespace {

namespace asio = boost::asio;
using detail::ConnectionState;
using detail::Core;
using detail::Job;
using detail::Session;

// A job whose outcome is a T, delivered to `Handler`, the awaiting coroutine's
// completion handler.
template <typename T, typename Handler>
class JobFor final : public Job, public std::enable_shared_from_this<JobFor<T, Handler>> {
 public:
  JobFor(Handler handler, std::function<T(Session&)> work)
      : work_(std::move(work)),
        handler_(std::move(handler)),
        // The work guard: the caller's io_context has work while the job runs.
        executor_(asio::prefer(asio::get_associated_executor(*handler_),
                               asio::execution::outstanding_work.tracked)) {}

  // Connects the caller's cancellation slot to this job. The slot handler
  // holds the job weakly: the job owns the handler, which owns the slot.
  void connect_cancellation(const std::shared_ptr<Core>& core) {
    core_ = core;
    slot_ = asio::get_associated_cancellation_slot(*handler_);
    if (!slot_.is_connected()) return;
    slot_.assign([weak_core = std::weak_ptr<Core>(core),
                  weak_job = this->weak_from_this()](asio::cancellation_type) {
      const std::shared_ptr<Core> c = weak_core.lock();
      const std::shared_ptr<JobFor> j = weak_job.lock();
      if (c && j) c->cancel(j);
    });
  }

  void run(Session& session) override { result_.emplace(work_(session)); }

  void complete() override {
    // Called on a worker thread (or by a cancellation, or by the destructor of
    // the database): the handler runs on the caller's executor, not here.
    asio::post(executor_, [self = this->shared_from_this()] { self->deliver(); });
  }

 private:
  // On the caller's executor.
  void deliver() {
    // Asio's rule: the slot is cleared before the handler runs, on the
    // handler's own executor (slots are not thread-safe).
    if (slot_.is_connected()) slot_.clear();
    // The operation ends for the caller now, not when the worker finished it:
    // only now may the Connection take its next operation.
    if (const std::shared_ptr<Core> core = core_.lock()) core->release(*this);
    Handler handler = std::move(*handler_);
    handler_.reset();
    const asio::any_io_executor work = std::move(executor_);  // released on return
    // Taken out of the job: the worker may drop the job's last reference on its own thread
    // after this, and must not be the one that frees the exception the caller is handling.
    if (std::exception_ptr failure = std::exchange(error, nullptr)) {
      std::move(handler)(failure, T{});
    } else {
      std::move(handler)(nullptr, std::move(*result_));
    }
  }

  std::function<T(Session&)> work_;
  std::optional<T> result_;
  std::optional<Handler> handler_;
  asio::any_io_executor executor_;
  asio::cancellation_slot slot_;
  std::weak_ptr<Core> core_;
};

// Suspends the calling coroutine until `work` has run on a worker (pinned to
// `connection`'s worker, if given) and resumes it with the result.
template <typename T>
asio::awaitable<T> run_on_pool(std::shared_ptr<Core> core,
                               std::shared_ptr<ConnectionState> connection,
                               std::function<T(Session&)> work, bool opens_connection = false) {
  auto initiate = [&](auto handler) {
    using Handler = decltype(handler);
    auto job = std::make_shared<JobFor<T, Handler>>(std::move(handler), std::move(work));
    job->connection = std::move(connection);
    job->opens_connection = opens_connection;
    job->connect_cancellation(core);
    core->submit(job);
  };
  constexpr auto token = asio::use_awaitable;
  co_return co_await asio::async_initiate<decltype(token), void(std::exception_ptr, T)>(initiate,
                                                                                        token);
}

// The five operations, for a Connection (`connection` set) or for the
// database itself (null: each operation borrows a place).
template <typename Base>
class Operations : public Base {
 public:
  Operations(std::shared_ptr<Core> core, std::shared_ptr<ConnectionState> connection)
      : core_(std::move(core)), connection_(std::move(connection)) {}

  asio::awaitable<mockdb::Id> create(std::string table, mockdb::Row row) override {
    return run<mockdb::Id>([table = std::move(table), row = std::move(row)](Session& s) {
      return s.create(table, row);
    });
  }

  asio::awaitable<std::optional<mockdb::Row>> read(std::string table, mockdb::Id id) override {
    return run<std::optional<mockdb::Row>>(
        [table = std::move(table), id](Session& s) { return s.read(table, id); });
  }

  asio::awaitable<bool> update(std::string table, mockdb::Id id, mockdb::Row fields) override {
    return run<bool>([table = std::move(table), id, fields = std::move(fields)](Session& s) {
      return s.update(table, id, fields);
    });
  }

  asio::awaitable<bool> remove(std::string table, mockdb::Id id) override {
    return run<bool>([table = std::move(table), id](Session& s) { return s.remove(table, id); });
  }

  asio::awaitable<mockdb::Rows> query(std::string sql, mockdb::Params params) override {
    // Parsing and translating need no database: they run here, so a syntax
    // error or a missing parameter is thrown before anything is queued.
    auto statement = std::make_shared<const detail::Statement>(
        detail::translate(mockdb::parse_query(sql), params));
    // A named local, not a temporary in the co_await expression: GCC 12
    // destroys some such temporaries twice (a use after free under ASan).
    std::function<mockdb::Rows(Session&)> work = [statement](Session& s) {
      return s.query(*statement);
    };
    co_return co_await run<mockdb::Rows>(std::move(work));
  }

 protected:
  template <typename T>
  asio::awaitable<T> run(std::function<T(Session&)> work) {
    return run_on_pool<T>(core_, connection_, std::move(work));
  }

  std::shared_ptr<Core> core_;
  std::shared_ptr<ConnectionState> connection_;
};

class SqliteConnection final : public Operations<mockdb::Connection> {
 public:
  using Operations::Operations;
  ~SqliteConnection() override { core_->close(*connection_); }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;
  SqliteConnection(SqliteConnection&&) = delete;
  SqliteConnection& operator=(SqliteConnection&&) = delete;

  asio::awaitable<void> close() override {
    core_->close(*connection_);
    // Completes asynchronously, like every operation.
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  }
};

}  // namespace

struct SqliteDatabase::Impl {
  explicit Impl(Options options) : core(std::make_shared<Core>(std::move(options))) {}

  std::shared_ptr<Core> core;
  Operations<mockdb::Queryable> direct{core, nullptr};
  std::vector<std::thread> workers;
};

SqliteDatabase::SqliteDatabase(Options options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
  const std::size_t threads = std::max<std::size_t>(impl_->core->options.threads, 1);
  for (std::size_t i = 0; i < threads; ++i) {
    impl_->workers.emplace_back([core = impl_->core, i] { detail::worker_main(core, i); });
  }
}

SqliteDatabase::~SqliteDatabase() {
  impl_->core->stop();
  // A running job stops within one progress-handler interval or one busy
  // handler wait, so this does not block for long.
  for (std::thread& t : impl_->workers) t.join();
}

asio::awaitable<std::unique_ptr<mockdb::Connection>> SqliteDatabase::connect() {
  auto state = std::make_shared<ConnectionState>();
  state->worker = impl_->core->pick_worker();
  // The job opens the worker's sqlite3 connection if it is not open yet, so a
  // file that cannot be opened is reported by connect().
  std::function<std::unique_ptr<mockdb::Connection>(Session&)> work =
      [core = impl_->core, state](Session&) -> std::unique_ptr<mockdb::Connection> {
    return std::make_unique<SqliteConnection>(core, state);
  };
  std::shared_ptr<Core> core = impl_->core;  // locals, not temporaries (see query())
  co_return co_await run_on_pool<std::unique_ptr<mockdb::Connection>>(std::move(core), state,
                                                                      std::move(work), true);
}

asio::awaitable<mockdb::Id> SqliteDatabase::create(std::string table, mockdb::Row row) {
  return impl_->direct.create(std::move(table), std::move(row));
}

asio::awaitable<std::optional<mockdb::Row>> SqliteDatabase::read(std::string table, mockdb::Id id) {
  return impl_->direct.read(std::move(table), id);
}

asio::awaitable<bool> SqliteDatabase::update(std::string table, mockdb::Id id, mockdb::Row fields) {
  return impl_->direct.update(std::move(table), id, std::move(fields));
}

asio::awaitable<bool> SqliteDatabase::remove(std::string table, mockdb::Id id) {
  return impl_->direct.remove(std::move(table), id);
}

asio::awaitable<mockdb::Rows> SqliteDatabase::query(std::string sql, mockdb::Params params) {
  return impl_->direct.query(std::move(sql), std::move(params));
}

Stats SqliteDatabase::stats() const { return impl_->core->stats(); }

}  // namespace sqlitedb
