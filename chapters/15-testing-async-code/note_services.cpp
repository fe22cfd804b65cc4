// Chapter 15's provided services: the correct NoteService and the broken ones
// your tests must catch. Each broken one is the correct one with one bug, of a
// kind the earlier chapters teach: a write never awaited (chapter 04), an error
// swallowed (chapter 10), a connection shared by concurrent operations, a
// read-modify-write that loses updates, a cache that goes stale, and three
// deadlines done wrong (chapters 05 and 11). Do not read this file before you
// have written your tests: the point is to find the bugs from the contract in
// note_service.hpp, as you would for a service you did not write.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/value.hpp>
#include <boost/system/system_error.hpp>
#include <exception>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

#include "note_service_runner.hpp"
#include "workbook/format.hpp"
#include "workbook/timer.hpp"

namespace ch15 {

namespace asio = boost::asio;
using mockdb::Id;

namespace {

constexpr const char* kLikesTable = "likes";

// Awaits `op` and returns its exception, or null: a failure ends a race as a
// success does, instead of losing to the timer and passing for a timeout.
asio::awaitable<std::exception_ptr> ended(asio::awaitable<Id> op, Id& id) {
  std::exception_ptr error;
  try {
    id = co_await std::move(op);
  } catch (...) {
    error = std::current_exception();
  }
  co_return error;
}

[[noreturn]] void throw_timeout(workbook::Clock::duration deadline) {
  throw Timeout(workbook::format("saving the note took longer than its deadline of %.0f ms",
                                 workbook::to_ms(deadline)));
}

// One like is one row: concurrent likes are concurrent inserts, and no like
// can overwrite another.
class CorrectNotes : public NoteService {
 public:
  explicit CorrectNotes(mockdb::DatabaseService& db) : db_(db) {}

  asio::awaitable<Id> save(std::string title) override {
    mockdb::Row note;
    note["title"] = title;
    co_return co_await db_.create(kNotesTable, std::move(note));
  }

  asio::awaitable<std::optional<std::string>> title(Id id) override {
    const std::optional<mockdb::Row> note = co_await db_.read(kNotesTable, id);
    if (!note) co_return std::nullopt;
    co_return std::string(note->at("title").as_string());
  }

  asio::awaitable<bool> rename(Id id, std::string title) override {
    mockdb::Row fields;
    fields["title"] = title;
    co_return co_await db_.update(kNotesTable, id, std::move(fields));
  }

  asio::awaitable<void> like(Id id) override {
    mockdb::Row like;
    like["note"] = id;
    co_await db_.create(kLikesTable, std::move(like));
  }

  asio::awaitable<std::int64_t> likes(Id id) override {
    mockdb::Params params{boost::json::value(id)};
    mockdb::Rows rows;
    try {
      rows = co_await db_.query("SELECT * FROM likes WHERE note = $1", std::move(params));
    } catch (const boost::system::system_error& e) {
      if (e.code() != mockdb::Errc::no_such_table) throw;  // no like yet, anywhere
    }
    co_return static_cast<std::int64_t>(rows.size());
  }

  asio::awaitable<Id> save_within(std::string title, workbook::Clock::duration deadline) override {
    using namespace asio::experimental::awaitable_operators;
    workbook::Timer timer(co_await asio::this_coro::executor, deadline);
    Id id = 0;
    auto race = ended(write(std::move(title)), id) || timer.async_wait(asio::use_awaitable);
    // Resumes once the first has completed and the other was cancelled and has ended.
    const std::variant<std::exception_ptr, std::monostate> first = co_await std::move(race);
    if (first.index() == 1) throw_timeout(deadline);
    if (const std::exception_ptr& error = std::get<0>(first)) std::rethrow_exception(error);
    co_return id;
  }

 protected:
  mockdb::DatabaseService& db() { return db_; }

  // How save_within() writes: save(), unless a correct variant says otherwise.
  virtual asio::awaitable<Id> write(std::string title) { return save(std::move(title)); }

 private:
  mockdb::DatabaseService& db_;
};

// Correct too, built another way: each save() opens a connection of its own
// (a pool of one connection per call). A test that pins down how the service
// is built ("save() opens no connection") fails against it; a test of the
// contract cannot tell it from CorrectNotes. save_within() writes as
// CorrectNotes does, so its timing is the same.
class CorrectConnectionPerSave final : public CorrectNotes {
 public:
  using CorrectNotes::CorrectNotes;
  asio::awaitable<Id> save(std::string title) override {
    const std::unique_ptr<mockdb::Connection> connection = co_await db().connect();
    mockdb::Row note;
    note["title"] = title;
    co_return co_await connection->create(kNotesTable, std::move(note));
  }

 protected:
  asio::awaitable<Id> write(std::string title) override {
    return CorrectNotes::save(std::move(title));
  }
};

// The write is made and never awaited, so it never runs (chapter 04).
class SaveNeverCommits final : public CorrectNotes {
 public:
  using CorrectNotes::CorrectNotes;
  asio::awaitable<Id> save(std::string title) override {
    mockdb::Row note;
    note["title"] = title;
    [[maybe_unused]] auto write = db().create(kNotesTable, std::move(note));
    co_return ++last_id_;
  }

 private:
  Id last_id_ = 0;
};

// A failed write is reported as id 0 instead of an error (chapter 10).
class SaveSwallowsErrors final : public CorrectNotes {
 public:
  using CorrectNotes::CorrectNotes;
  asio::awaitable<Id> save(std::string title) override {
    Id id = 0;
    try {
      id = co_await CorrectNotes::save(std::move(title));
    } catch (const boost::system::system_error&) {  // "the caller can check for 0"
    }
    co_return id;
  }
};

// Every save goes through one connection, opened on first use. A connection
// runs one operation at a time, so a save that starts while another is in
// progress fails with "operation in progress".
class OneConnectionForAll final : public CorrectNotes {
 public:
  using CorrectNotes::CorrectNotes;
  asio::awaitable<Id> save(std::string title) override {
    if (!connection_) {
      std::unique_ptr<mockdb::Connection> opened = co_await db().connect();
      if (!connection_) connection_ = std::move(opened);
    }
    mockdb::Row note;
    note["title"] = title;
    co_return co_await connection_->create(kNotesTable, std::move(note));
  }

 private:
  std::unique_ptr<mockdb::Connection> connection_;
};

// The count is read, then written back plus one: two likes that overlap both
// read the same count, and one of them is lost.
class LostUpdate final : public CorrectNotes {
 public:
  using CorrectNotes::CorrectNotes;
  asio::awaitable<void> like(Id id) override {
    const std::int64_t count = co_await likes(id);
    mockdb::Row fields;
    fields["likes"] = count + 1;
    co_await db().update(kNotesTable, id, std::move(fields));
  }
  asio::awaitable<std::int64_t> likes(Id id) override {
    const std::optional<mockdb::Row> note = co_await db().read(kNotesTable, id);
    if (!note || !note->contains("likes")) co_return 0;
    co_return note->at("likes").as_int64();
  }
};

// title() remembers the titles it has read; rename() does not forget them.
class StaleTitleAfterRename final : public CorrectNotes {
 public:
  using CorrectNotes::CorrectNotes;
  asio::awaitable<std::optional<std::string>> title(Id id) override {
    if (auto known = cache_.find(id); known != cache_.end()) co_return known->second;
    std::optional<std::string> read = co_await CorrectNotes::title(id);
    if (read) cache_[id] = *read;
    co_return read;
  }

 private:
  std::map<Id, std::string> cache_;
};

// The deadline is ignored.
class TimeoutNeverFires final : public CorrectNotes {
 public:
  using CorrectNotes::CorrectNotes;
  asio::awaitable<Id> save_within(std::string title, workbook::Clock::duration) override {
    co_return co_await save(std::move(title));
  }
};

// Half the deadline is kept back "as a safety margin": a save that answers
// within the deadline, but after half of it, is abandoned.
class TimeoutFiresEarly final : public CorrectNotes {
 public:
  using CorrectNotes::CorrectNotes;
  asio::awaitable<Id> save_within(std::string title, workbook::Clock::duration deadline) override {
    co_return co_await CorrectNotes::save_within(std::move(title), deadline / 2);
  }
};

// The write is stopped at the deadline, but Timeout is thrown only half a
// deadline later ("back off before reporting"): the caller hears of it late.
class TimeoutFiresLate final : public CorrectNotes {
 public:
  using CorrectNotes::CorrectNotes;
  asio::awaitable<Id> save_within(std::string title, workbook::Clock::duration deadline) override {
    std::exception_ptr timed_out;
    try {
      co_return co_await CorrectNotes::save_within(std::move(title), deadline);
    } catch (const Timeout&) {
      timed_out = std::current_exception();
    }
    co_await workbook::sleep_for(deadline / 2);
    std::rethrow_exception(timed_out);
  }
};

// A failed write is rethrown as a std::runtime_error "with more context": the
// caller that catches mockdb::DatabaseError (or reads its code) never sees it.
class SaveRewrapsErrors final : public CorrectNotes {
 public:
  using CorrectNotes::CorrectNotes;
  asio::awaitable<Id> save(std::string title) override {
    std::string failure;
    try {
      co_return co_await CorrectNotes::save(title);
    } catch (const boost::system::system_error& e) {
      failure = workbook::format("could not save '%s': %s", title.c_str(), e.what());
    }
    throw std::runtime_error(failure);
  }
};

// The caller stops waiting at the deadline, but the write is left running on
// its own (spawned, not raced), and saves the note after Timeout was thrown.
class TimeoutLeavesWriteRunning final : public CorrectNotes {
 public:
  using CorrectNotes::CorrectNotes;
  asio::awaitable<Id> save_within(std::string title, workbook::Clock::duration deadline) override {
    struct Write {
      explicit Write(const asio::any_io_executor& ex, workbook::Clock::duration d) : wake(ex, d) {}
      workbook::Timer wake;
      bool done = false;
      std::exception_ptr error;
      Id id = 0;
    };
    const asio::any_io_executor ex = co_await asio::this_coro::executor;
    auto write = std::make_shared<Write>(ex, deadline);
    asio::co_spawn(ex, save(std::move(title)), [write](const std::exception_ptr& e, Id id) {
      write->done = true;
      write->error = e;
      write->id = id;
      write->wake.cancel();
    });
    co_await write->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!write->done) throw_timeout(deadline);
    if (write->error) std::rethrow_exception(write->error);
    co_return write->id;
  }
};

// What every Fixture holds, whichever implementation is inside: a test cannot
// tell the services apart by their type (typeid, dynamic_cast), only by what
// they do.
class Service final : public NoteService {
 public:
  explicit Service(std::unique_ptr<NoteService> inside) : inside_(std::move(inside)) {}
  asio::awaitable<Id> save(std::string title) override { return inside_->save(std::move(title)); }
  asio::awaitable<std::optional<std::string>> title(Id id) override { return inside_->title(id); }
  asio::awaitable<bool> rename(Id id, std::string title) override {
    return inside_->rename(id, std::move(title));
  }
  asio::awaitable<void> like(Id id) override { return inside_->like(id); }
  asio::awaitable<std::int64_t> likes(Id id) override { return inside_->likes(id); }
  asio::awaitable<Id> save_within(std::string title, workbook::Clock::duration deadline) override {
    return inside_->save_within(std::move(title), deadline);
  }

 private:
  std::unique_ptr<NoteService> inside_;
};

std::unique_ptr<NoteService> make_inside(Impl impl, mockdb::DatabaseService& db) {
  switch (impl) {
    case Impl::correct:
      return std::make_unique<CorrectNotes>(db);
    case Impl::correct_connection_per_save:
      return std::make_unique<CorrectConnectionPerSave>(db);
    case Impl::save_never_commits:
      return std::make_unique<SaveNeverCommits>(db);
    case Impl::save_swallows_errors:
      return std::make_unique<SaveSwallowsErrors>(db);
    case Impl::one_connection_for_all:
      return std::make_unique<OneConnectionForAll>(db);
    case Impl::lost_update:
      return std::make_unique<LostUpdate>(db);
    case Impl::stale_title_after_rename:
      return std::make_unique<StaleTitleAfterRename>(db);
    case Impl::timeout_never_fires:
      return std::make_unique<TimeoutNeverFires>(db);
    case Impl::timeout_fires_early:
      return std::make_unique<TimeoutFiresEarly>(db);
    case Impl::timeout_fires_late:
      return std::make_unique<TimeoutFiresLate>(db);
    case Impl::save_rewraps_errors:
      return std::make_unique<SaveRewrapsErrors>(db);
    case Impl::timeout_leaves_write_running:
      return std::make_unique<TimeoutLeavesWriteRunning>(db);
  }
  return nullptr;
}

constexpr BrokenImpl kBroken[] = {
    {Impl::save_never_commits, "save-never-commits",
     "save() returns an id but never writes the note",
     "save a note, run the loop to completion, then read it back"},
    {Impl::save_swallows_errors, "save-swallows-errors",
     "save() returns id 0 when the database fails, instead of the error",
     "inject a fault with f.db.fail_next(1) and expect save() to throw mockdb::DatabaseError"},
    {Impl::one_connection_for_all, "one-connection-for-all",
     "saves share one connection, so a save that overlaps another fails",
     "start several saves at once (with latency, so that they overlap) and check that every one "
     "succeeded and every note is in the database, not only that every task finished"},
    {Impl::lost_update, "lost-update",
     "like() reads the count and writes it back plus one, so overlapping likes are lost",
     "start several likes of one note at once (with latency) and check the count"},
    {Impl::stale_title_after_rename, "stale-title-after-rename",
     "title() keeps the titles it has read, and rename() does not forget them",
     "read a note's title, rename it, and read it again"},
    {Impl::timeout_never_fires, "timeout-never-fires", "save_within() ignores its deadline",
     "make the database hang (f.db.hang_next(1)) and expect ch15::Timeout at the deadline"},
    {Impl::timeout_fires_early, "timeout-fires-early",
     "save_within() gives up at half its deadline",
     "give the database a latency just under the deadline, in virtual time, and expect the save "
     "to succeed; or check, on workbook::Clock, when Timeout was thrown"},
    {Impl::timeout_fires_late, "timeout-fires-late",
     "save_within() stops the write at its deadline but throws Timeout half a deadline later",
     "make the database hang (f.db.hang_next(1)), note workbook::Clock::now(), and expect "
     "ch15::Timeout exactly at the deadline, not only that it came"},
    {Impl::save_rewraps_errors, "save-rewraps-errors",
     "save() rethrows a database error as a std::runtime_error of its own",
     "inject a fault with f.db.fail_next(1) and expect save() to throw mockdb::DatabaseError "
     "itself (EXPECT_THROW with the type, not EXPECT_ANY_THROW)"},
    {Impl::timeout_leaves_write_running, "timeout-leaves-write-running",
     "save_within() throws Timeout but leaves the write running, and it saves the note later",
     "after a Timeout, run the loop until idle and check that the note was not saved and no "
     "operation is left in flight"},
};

}  // namespace

std::span<const BrokenImpl> broken_impls() { return kBroken; }

std::unique_ptr<NoteService> make_note_service(Impl impl, mockdb::DatabaseService& db) {
  return std::make_unique<Service>(make_inside(impl, db));
}

}  // namespace ch15
