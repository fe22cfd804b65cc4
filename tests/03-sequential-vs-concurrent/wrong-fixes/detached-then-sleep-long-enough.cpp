// WRONG: detached reads, then a 50 ms sleep "long enough": every call takes the guess.
// expect: 3 reads overlapped \(3 in flight\) but read_notes\(\) of 3 ids took 50 ms
//
// A sleep is a guess about the database. In virtual time the test sees the
// guess exactly: the reads overlapped, and then the caller waited for nothing.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <memory>
#include <utility>

#include "note_reader.hpp"
#include "workbook/timer.hpp"

namespace ch03 {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
asio::awaitable<void> read_into(mockdb::DatabaseService& db, mockdb::Id id,
                                std::shared_ptr<std::vector<NoteResult>> slots, std::size_t i) {
  (*slots)[i] = co_await read_note(db, id);
}
}  // namespace

boost::asio::awaitable<std::vector<NoteResult>> read_notes(mockdb::DatabaseService& db,
                                                           std::vector<mockdb::Id> ids) {
  const auto ex = co_await asio::this_coro::executor;
  auto slots = std::make_shared<std::vector<NoteResult>>(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    asio::co_spawn(ex, read_into(db, ids[i], slots, i), asio::detached);
  }
  co_await workbook::sleep_for(50ms);  // long enough for any read
  co_return *slots;
}

boost::asio::awaitable<std::array<NoteResult, 3>> read_three(mockdb::DatabaseService& db,
                                                             mockdb::Id a, mockdb::Id b,
                                                             mockdb::Id c) {
  std::vector<mockdb::Id> ids{
      a, b, c};  // not a braced list in the call: GCC 12 rejects it in a coroutine
  auto notes = co_await read_notes(db, std::move(ids));
  std::array<NoteResult, 3> three{std::move(notes[0]), std::move(notes[1]), std::move(notes[2])};
  co_return three;
}

}  // namespace ch03
