// One worker's sqlite3 connection: how it is opened, how a job can stop it,
// and the SQL of each operation. Everything here runs on that worker thread.
#include "session.hpp"

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/system/system_error.hpp>
#include <utility>

#include "errors.hpp"

namespace sqlitedb::detail {
namespace {

namespace json = boost::json;

// How many SQLite virtual-machine instructions run between two looks at the
// cancellation flag: often enough to stop a long scan within microseconds,
// rarely enough to cost nothing measurable.
constexpr int kProgressInterval = 1000;

[[noreturn]] void throw_aborted() {
  throw boost::system::system_error(boost::asio::error::operation_aborted);
}

// sqlitedb_type_error(message): fails the statement with SQLITE_MISMATCH.
// translate.cpp calls it where a field holds a value of the wrong type.
void type_error(sqlite3_context* context, int /*argc*/, sqlite3_value** argv) {
  // SQLite hands text out as unsigned char; it is UTF-8 all the same.
  const auto* text = reinterpret_cast<const char*>(  // NOLINT(*-reinterpret-cast)
      sqlite3_value_text(argv[0]));
  sqlite3_result_error(context, text != nullptr ? text : "type mismatch", -1);
  sqlite3_result_error_code(context, SQLITE_MISMATCH);
}

// sqlitedb_all(c1, c2, ...): Kleene's AND of values that are 0, 1 or NULL.
void all(sqlite3_context* context, int argc, sqlite3_value** argv) {
  bool unknown = false;
  for (int i = 0; i < argc; ++i) {
    if (sqlite3_value_type(argv[i]) == SQLITE_NULL) {
      unknown = true;
    } else if (sqlite3_value_int64(argv[i]) == 0) {
      sqlite3_result_int(context, 0);
      return;
    }
  }
  if (unknown) {
    sqlite3_result_null(context);
  } else {
    sqlite3_result_int(context, 1);
  }
}

mockdb::Row to_row(mockdb::Id id, const unsigned char* doc, int size) {
  const std::string_view text(reinterpret_cast<const char*>(doc),  // NOLINT(*-reinterpret-cast)
                              static_cast<std::size_t>(size));
  mockdb::Row row = json::parse(text).as_object();
  row["id"] = id;
  return row;
}

}  // namespace

// A prepared statement, finalized when it goes out of scope.
class Session::Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(Stmt&& other) noexcept : s_(std::exchange(other.s_, nullptr)) {}
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  sqlite3_stmt* get() const noexcept { return s_; }

 private:
  sqlite3_stmt* s_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back unless committed. IMMEDIATE takes
// the write lock at BEGIN, waiting in the busy handler if another connection
// holds it. A plain (deferred) BEGIN would take it only at the first write,
// and a read-then-write transaction that finds it taken then fails with
// SQLITE_BUSY at once, without waiting: SQLite cannot wait there, since the
// other writer may be waiting for this transaction's read to end.
class Session::WriteTransaction {
 public:
  explicit WriteTransaction(Session& s) : s_(s) { s_.exec("BEGIN IMMEDIATE"); }
  ~WriteTransaction() {
    if (!committed_) sqlite3_exec(s_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  WriteTransaction(WriteTransaction&&) = delete;
  WriteTransaction& operator=(WriteTransaction&&) = delete;

  // The last moment a cancellation can still undo the write: after COMMIT the
  // caller gets the result, since the write has happened.
  void commit() {
    if (s_.cancel_ != nullptr && s_.cancel_->requested()) throw_aborted();
    s_.exec("COMMIT");
    committed_ = true;
  }

 private:
  Session& s_;
  bool committed_ = false;
};

Session::~Session() { close(); }

void Session::start_job(CancelFlag& cancel) {
  cancel_ = &cancel;
  // Cancelled while it waited for this worker: it never runs.
  if (cancel.requested()) throw_aborted();
  if (db_ == nullptr) open();
}

void Session::end_job() noexcept {
  if (db_ != nullptr && sqlite3_get_autocommit(db_) == 0) {
    // A transaction is still open (a failure between BEGIN and COMMIT whose
    // rollback failed too): roll back now, or give the connection up.
    if (sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr) != SQLITE_OK) close();
  }
  cancel_ = nullptr;
}

void Session::open() {
  // One worker opens at a time. Switching a new file to WAL needs the whole
  // file to itself, and SQLite does not call the busy handler for that lock:
  // a second worker switching at the same moment would fail with SQLITE_BUSY.
  std::lock_guard serialize(*open_mutex_);
  // NOMUTEX: SQLite takes no lock of its own around each call on this
  // connection. That is safe only because the connection never leaves this
  // worker thread (thread confinement): no two threads ever call into it.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(options_->path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    // Even a failed open may allocate a handle, which carries the message.
    const mockdb::DatabaseError error = sqlite_error(db_, rc);
    close();
    throw error;
  }
  try {
    sqlite3_extended_result_codes(db_, 1);
    // Our own busy handler rather than sqlite3_busy_timeout(): it waits the
    // same way, but a cancellation wakes it at once.
    sqlite3_busy_handler(db_, &Session::on_busy, this);
    sqlite3_progress_handler(db_, kProgressInterval, &Session::on_progress, this);
    const int text = SQLITE_UTF8;
    sqlite3_create_function_v2(db_, kTypeErrorFunction, 1, text, nullptr, &type_error, nullptr,
                               nullptr, nullptr);
    sqlite3_create_function_v2(db_, kAllFunction, -1, text | SQLITE_DETERMINISTIC, nullptr, &all,
                               nullptr, nullptr, nullptr);
    // WAL: readers never wait for the writer and the writer never waits for
    // readers; only two writers wait for each other. This is also the first
    // statement to read the file, so a file that is not a database fails here.
    exec("PRAGMA journal_mode=WAL");
    if (options_->on_open) options_->on_open(db_);
  } catch (...) {
    close();
    throw;
  }
}

void Session::close() noexcept {
  // sqlite3_close_v2 also frees a handle whose statements are still open.
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
}

void Session::fail(int rc) { throw sqlite_error(db_, rc); }

void Session::exec(const std::string& sql) {
  Stmt s = prepare(sql);
  while (step(s)) {
  }
}

Session::Stmt Session::prepare(const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &s, nullptr);
  if (rc != SQLITE_OK) fail(rc);
  return Stmt(s);
}

// The interface says: read, update and remove on a missing table find no row.
std::optional<Session::Stmt> Session::prepare_if_table_exists(const std::string& sql) {
  try {
    return prepare(sql);
  } catch (const mockdb::DatabaseError& e) {
    if (e.code() == boost::system::error_code(kErrorNoSuchTable, category())) return std::nullopt;
    throw;
  }
}

bool Session::step(Stmt& statement) {
  const int rc = sqlite3_step(statement.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(rc);
}

int Session::on_busy(void* self, int count) {
  auto* s = static_cast<Session*>(self);
  const auto now = std::chrono::steady_clock::now();
  if (count == 0) {
    s->busy_since_ = now;
    if (s->options_->on_lock_wait) s->options_->on_lock_wait();
  }
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(now - s->busy_since_);
  if (waited >= s->options_->busy_timeout) return 0;  // give up: SQLITE_BUSY
  // SQLite's own busy handler polls like this too: the lock holder does not
  // tell waiters when it lets go. Back off from 1 ms to 50 ms.
  static constexpr int steps[] = {1, 2, 5, 10, 20, 50};
  const std::chrono::milliseconds step(steps[std::min(count, 5)]);
  const auto pause = std::min(step, s->options_->busy_timeout - waited);
  if (s->cancel_ != nullptr && s->cancel_->wait_for(pause)) return 0;  // cancelled
  return 1;                                                            // try the lock again
}

int Session::on_progress(void* self) {
  // Non-zero stops the statement with SQLITE_INTERRUPT. Only this job's flag
  // is read, on the thread that runs it: sqlite3_interrupt() from the
  // cancelling thread could hit the next job instead, if this one had just
  // finished.
  const auto* s = static_cast<const Session*>(self);
  return s->cancel_ != nullptr && s->cancel_->requested() ? 1 : 0;
}

mockdb::Id Session::create(const std::string& table, mockdb::Row row) {
  row.erase("id");  // the id column holds it
  const std::string doc = json::serialize(row);
  const std::string name = quote_identifier(table);
  WriteTransaction tx(*this);
  // Inside the write transaction, so concurrent first creates cannot race.
  // AUTOINCREMENT: an id is never reused after a delete, as in the mock.
  exec("CREATE TABLE IF NOT EXISTS " + name +
       " (id INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT NOT NULL)");
  Stmt insert = prepare("INSERT INTO " + name + " (doc) VALUES (?1)");
  sqlite3_bind_text(insert.get(), 1, doc.data(), static_cast<int>(doc.size()), SQLITE_TRANSIENT);
  step(insert);
  const mockdb::Id id = sqlite3_last_insert_rowid(db_);
  tx.commit();
  return id;
}

std::optional<mockdb::Row> Session::read(const std::string& table, mockdb::Id id) {
  std::optional<Stmt> select =
      prepare_if_table_exists("SELECT doc FROM " + quote_identifier(table) + " WHERE id = ?1");
  if (!select) return std::nullopt;
  sqlite3_bind_int64(select->get(), 1, id);
  if (!step(*select)) return std::nullopt;
  return to_row(id, sqlite3_column_text(select->get(), 0), sqlite3_column_bytes(select->get(), 0));
}

bool Session::update(const std::string& table, mockdb::Id id, const mockdb::Row& fields) {
  const std::string name = quote_identifier(table);
  // Read, merge and write in one IMMEDIATE transaction: no other writer can
  // change the row between our read and our write (no lost update).
  WriteTransaction tx(*this);
  std::optional<Stmt> select =
      prepare_if_table_exists("SELECT doc FROM " + name + " WHERE id = ?1");
  if (!select) return false;
  sqlite3_bind_int64(select->get(), 1, id);
  if (!step(*select)) return false;
  mockdb::Row row =
      to_row(id, sqlite3_column_text(select->get(), 0), sqlite3_column_bytes(select->get(), 0));
  select.reset();  // done reading before we write
  for (const auto& field : fields) {
    // A null value sets the field to null; it does not delete it (unlike json_patch()).
    if (field.key() != "id") row.insert_or_assign(field.key(), field.value());
  }
  row.erase("id");
  const std::string doc = json::serialize(row);
  Stmt write = prepare("UPDATE " + name + " SET doc = ?1 WHERE id = ?2");
  sqlite3_bind_text(write.get(), 1, doc.data(), static_cast<int>(doc.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(write.get(), 2, id);
  step(write);
  tx.commit();
  return true;
}

bool Session::remove(const std::string& table, mockdb::Id id) {
  WriteTransaction tx(*this);
  std::optional<Stmt> erase =
      prepare_if_table_exists("DELETE FROM " + quote_identifier(table) + " WHERE id = ?1");
  if (!erase) return false;
  sqlite3_bind_int64(erase->get(), 1, id);
  step(*erase);
  const bool removed = sqlite3_changes(db_) > 0;
  tx.commit();
  return removed;
}

mockdb::Rows Session::query(const Statement& statement) {
  Stmt select = prepare(statement.sql);
  for (std::size_t i = 0; i < statement.values.size(); ++i) {
    const int index = static_cast<int>(i + 1);
    const Bound& v = statement.values[i];
    if (const auto* n = std::get_if<std::int64_t>(&v)) {
      sqlite3_bind_int64(select.get(), index, *n);
    } else if (const auto* d = std::get_if<double>(&v)) {
      sqlite3_bind_double(select.get(), index, *d);
    } else {
      const auto& text = std::get<std::string>(v);
      sqlite3_bind_text(select.get(), index, text.data(), static_cast<int>(text.size()),
                        SQLITE_TRANSIENT);
    }
  }
  mockdb::Rows rows;
  while (step(select)) {
    rows.push_back(to_row(sqlite3_column_int64(select.get(), 0),
                          sqlite3_column_text(select.get(), 1),
                          sqlite3_column_bytes(select.get(), 1)));
  }
  return rows;
}

}  // namespace sqlitedb::detail
