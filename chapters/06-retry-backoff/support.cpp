// Chapter 06's provided building blocks: one read attempt bounded by a
// deadline, and sample notes. The pitfall and the fix both have them; the
// lesson is how load_note() retries, not how one attempt is timed out
// (chapter 05, timeouts, is about that).
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/system/system_error.hpp>
#include <exception>
#include <string>
#include <utility>
#include <variant>

#include "mockdb/errors.hpp"
#include "note_loader.hpp"
#include "workbook/timer.hpp"

namespace ch06 {

namespace {

// What one read gave: the note (or none), or the exception it threw. The
// read's failure is a value here on purpose: `operator||` waits for the first
// operand to *succeed* (make_parallel_group with wait_for_one_success, see
// boost/asio/experimental/awaitable_operators.hpp), so a read that threw would
// not end the race, and a refused read would wait for the deadline.
struct ReadOutcome {
  std::optional<mockdb::Row> note;
  std::exception_ptr failure;
};

boost::asio::awaitable<ReadOutcome> read_catching(mockdb::DatabaseService& db, mockdb::Id id) {
  ReadOutcome outcome;
  try {
    outcome.note = co_await db.read(kNotesTable, id);
  } catch (...) {
    outcome.failure = std::current_exception();
  }
  co_return outcome;
}

}  // namespace

boost::asio::awaitable<std::optional<mockdb::Row>> read_by(mockdb::DatabaseService& db,
                                                           mockdb::Id id,
                                                           workbook::Clock::time_point deadline) {
  using boost::asio::experimental::awaitable_operators::operator||;
  workbook::Timer timer(co_await boost::asio::this_coro::executor, deadline);
  auto read = read_catching(db, id);
  auto expiry = timer.async_wait(boost::asio::use_awaitable);
  // The loser is cancelled and has ended when || completes.
  auto first = co_await (std::move(read) || std::move(expiry));
  if (first.index() == 1) {
    mockdb::throw_database_error(mockdb::Errc::timed_out,
                                 "the read of note " + std::to_string(id) +
                                     " was still running at the caller's deadline; cancelled");
  }
  ReadOutcome outcome = std::get<0>(std::move(first));
  if (outcome.failure) std::rethrow_exception(outcome.failure);
  co_return std::move(outcome.note);
}

boost::asio::awaitable<void> add_sample_notes(mockdb::DatabaseService& db, int count) {
  for (int i = 1; i <= count; ++i) {
    mockdb::Row note;
    note["title"] = "note " + std::to_string(i);
    co_await db.create(kNotesTable, std::move(note));
  }
}

}  // namespace ch06
