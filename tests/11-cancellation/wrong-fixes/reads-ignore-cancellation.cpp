// WRONG: each read switches cancellation off, so || waits for the slow loser to finish.
// expect: The slow first read ran to its end instead of being cancelled
//
// The reset makes the operand deaf to the cancellation || sends. || returns
// only when both operands have ended, so the answer the hedge got at 40 ms is
// held back until the slow read ends at 500 ms: no gain, and twice the load.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>
#include <variant>

#include "note_service.hpp"

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace ch11 {
namespace {

// Runs `read` with cancellation switched off: a read cancelled midway breaks
// its connection, so let it finish instead.
asio::awaitable<std::optional<mockdb::Row>> to_the_end(
    asio::awaitable<std::optional<mockdb::Row>> read) {
  co_await asio::this_coro::reset_cancellation_state(asio::disable_cancellation());
  co_return co_await std::move(read);
}

}  // namespace

asio::awaitable<std::optional<mockdb::Row>> read_note(ConnectionPool& pool, mockdb::Id id,
                                                      workbook::Clock::duration hedge_after) {
  auto first = to_the_end(read_once(pool, id));
  auto hedge = to_the_end(read_after(hedge_after, pool, id));
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
