// WRONG: the hedge goes out after a hard-coded 20 ms, not after the configured hedge delay.
// expect: sent its second read at 20 ms; expected it at the configured hedge delay
//
// Twenty milliseconds was the p95 on the author's machine. The caller's
// configuration is ignored: under another latency it hedges too early (extra
// load) or too late (no gain).
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <utility>
#include <variant>

#include "note_service.hpp"

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace ch11 {

asio::awaitable<std::optional<mockdb::Row>> read_note(ConnectionPool& pool, mockdb::Id id,
                                                      workbook::Clock::duration hedge_after) {
  (void)hedge_after;                                    // our p95 is known:
  constexpr auto kP95 = std::chrono::milliseconds(20);  // measured once
  auto first = read_once(pool, id);
  auto hedge = read_after(kP95, pool, id);
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
