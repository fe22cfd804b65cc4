// Chapter 11, the pitfall: reads that nobody can cancel, and a save that a
// cancellation can cut in half.
//
// read_note() is the seed guide's select!, translated with a promise: each
// read is co_spawn'ed detached and delivers its answer through a channel, and
// `||` races the deliveries. The first answer wins and `||` cancels the other
// *delivery*; the read behind it was spawned detached, so no cancellation can
// reach it. It runs on, holding its connection, while later callers wait for
// one. The caller giving up (a client that went away) has the same effect.
//
// save_note() awaits its two writes one after another. A cancellation that
// arrives between them, or during the second, stops it halfway: the note is
// saved and its history entry is not.
#include "note_service.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <utility>
#include <variant>

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace ch11 {

namespace {

using Note = std::optional<mockdb::Row>;

// Where a read started on its own delivers its answer: a one-shot channel.
using Promise =
    asio::experimental::channel<void(boost::system::error_code, std::exception_ptr, Note)>;

// Starts `read` now, on its own, and returns where its answer will arrive.
std::shared_ptr<Promise> start(const asio::any_io_executor& ex, asio::awaitable<Note> read) {
  auto promise = std::make_shared<Promise>(ex, 1);
  asio::co_spawn(ex, std::move(read), [promise](const std::exception_ptr& error, Note note) {
    promise->try_send(boost::system::error_code{}, error, std::move(note));
  });
  return promise;
}

// The answer delivered to `promise` (rethrowing the read's exception).
asio::awaitable<Note> answer_of(std::shared_ptr<Promise> promise) {
  auto [error, note] = co_await promise->async_receive(asio::use_awaitable);
  if (error) std::rethrow_exception(error);
  co_return note;
}

}  // namespace

asio::awaitable<std::optional<mockdb::Row>> read_note(ConnectionPool& pool, mockdb::Id id,
                                                      workbook::Clock::duration hedge_after) {
  const auto ex = co_await asio::this_coro::executor;
  //! [pitfall]
  auto first = start(ex, read_once(pool, id));                // runs on its own from here
  auto hedge = start(ex, read_after(hedge_after, pool, id));  // so does the hedge
  auto deliveries = answer_of(first) || answer_of(hedge);
  auto winner = co_await std::move(deliveries);  // || cancels a delivery, not a read
  //! [pitfall]
  co_return winner.index() == 0 ? std::get<0>(std::move(winner)) : std::get<1>(std::move(winner));
}

asio::awaitable<mockdb::Id> save_note(ConnectionPool& pool, std::string title) {
  Lease lease = co_await pool.acquire();
  mockdb::Row note;
  note["title"] = title;
  //! [pitfall_save]
  const mockdb::Id id = co_await lease.create(kNotesTable, std::move(note));
  mockdb::Row entry;
  entry["note"] = id;
  entry["event"] = "created";
  co_await lease.create(kHistoryTable, std::move(entry));  // a cancel before this ends: half a save
  //! [pitfall_save]
  co_return id;
}

}  // namespace ch11
