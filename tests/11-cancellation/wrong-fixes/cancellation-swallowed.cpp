// WRONG: a read that is cancelled returns "no such note" instead of ending with operation_aborted.
// expect: returned a 'no such note' at 20 ms after it was cancelled
//
// The learner turns the cancellation into an ordinary result, so that || and
// the caller "do not have to deal with it". The loser's answer is ignored
// anyway; but a request cancelled by its caller now returns normally, and says
// the note does not exist.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <utility>
#include <variant>

#include "note_service.hpp"

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace ch11 {
namespace {

// `read`, with a cancellation turned into "nothing found".
asio::awaitable<std::optional<mockdb::Row>> or_nothing(
    asio::awaitable<std::optional<mockdb::Row>> read) {
  try {
    co_return co_await std::move(read);
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted) throw;
  }
  co_return std::nullopt;
}

}  // namespace

asio::awaitable<std::optional<mockdb::Row>> read_note(ConnectionPool& pool, mockdb::Id id,
                                                      workbook::Clock::duration hedge_after) {
  auto first = or_nothing(read_once(pool, id));
  auto hedge = or_nothing(read_after(hedge_after, pool, id));
  auto reads = std::move(first) || std::move(hedge);
  auto winner = co_await std::move(reads);
  co_return winner.index() == 0 ? std::get<0>(std::move(winner)) : std::get<1>(std::move(winner));
}

namespace {

// The two writes of a save, on one leased connection.
asio::awaitable<mockdb::Id> write_note_and_history(Lease lease, mockdb::Row note) {
  const mockdb::Id id = co_await lease.create(kNotesTable, std::move(note));
  mockdb::Row entry;
  entry["note"] = id;
  entry["event"] = "created";
  co_await lease.create(kHistoryTable, std::move(entry));
  co_return id;
}

}  // namespace

asio::awaitable<mockdb::Id> save_note(ConnectionPool& pool, std::string title) {
  Lease lease = co_await pool.acquire();  // cancellable: nothing is written yet
  mockdb::Row note;
  note["title"] = title;
  // No slot: co_spawn has nothing to forward a cancel from, so both writes run.
  const auto ex = co_await asio::this_coro::executor;
  auto writes = write_note_and_history(std::move(lease), std::move(note));
  auto unstoppable = asio::bind_cancellation_slot(asio::cancellation_slot(), asio::use_awaitable);
  co_return co_await asio::co_spawn(ex, std::move(writes), std::move(unstoppable));
}

}  // namespace ch11
