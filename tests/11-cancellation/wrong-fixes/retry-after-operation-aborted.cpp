// WRONG: a read that ends with operation_aborted is retried, so a cancelled request reads on.
// expect: returned a note at 120 ms after it was cancelled at 20 ms
//
// operation_aborted is not a transient failure: it means somebody cancelled
// the operation. Without the reset, Asio would throw operation_aborted again at
// the retry's co_await (the frame checks the cancellation state there); with
// it, the request that nobody waits for any more reads on.
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

// One read, tried again if it was aborted.
asio::awaitable<std::optional<mockdb::Row>> read_retrying(ConnectionPool& pool, mockdb::Id id) {
  for (int attempt = 1;; ++attempt) {
    try {
      co_return co_await read_once(pool, id);
    } catch (const boost::system::system_error& e) {
      if (e.code() != asio::error::operation_aborted || attempt == 3) throw;
    }
    co_await asio::this_coro::reset_cancellation_state();  // or the retry aborts at once
  }
}

}  // namespace

asio::awaitable<std::optional<mockdb::Row>> read_note(ConnectionPool& pool, mockdb::Id id,
                                                      workbook::Clock::duration hedge_after) {
  auto first = read_retrying(pool, id);
  auto hedge = read_after(hedge_after, pool, id);
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
