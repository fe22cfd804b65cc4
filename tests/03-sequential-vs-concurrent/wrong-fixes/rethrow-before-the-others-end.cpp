// WRONG: the first exception is rethrown at once, while the other reads are still running.
// expect: threw after 0 ms while 2 reads were still in flight
//
// Everything else is right: the reads overlap, results land in the slot of
// their id, database errors stay in the results. "Fail fast" is a fine policy
// only if the others are cancelled and waited for (as operator&& and
// wait_for_one_error() do); returning while they run leaves orphans.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <memory>
#include <utility>

#include "note_reader.hpp"

namespace ch03 {

namespace asio = boost::asio;
using Done = asio::experimental::channel<void(boost::system::error_code, std::size_t)>;

boost::asio::awaitable<std::vector<NoteResult>> read_notes(mockdb::DatabaseService& db,
                                                           std::vector<mockdb::Id> ids) {
  const auto ex = co_await asio::this_coro::executor;
  auto results = std::make_shared<std::vector<NoteResult>>(ids.size());
  auto errors = std::make_shared<std::vector<std::exception_ptr>>(ids.size());
  auto done = std::make_shared<Done>(ex, ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    asio::co_spawn(ex, read_note(db, ids[i]),
                   [results, errors, done, i](const std::exception_ptr& e, NoteResult r) {
                     (*results)[i] = std::move(r);
                     (*errors)[i] = e;
                     done->try_send(boost::system::error_code{}, i);
                   });
  }
  for (std::size_t n = 0; n < ids.size(); ++n) {
    const std::size_t i = co_await done->async_receive(asio::use_awaitable);
    if ((*errors)[i]) std::rethrow_exception((*errors)[i]);  // fail fast
  }
  co_return std::move(*results);
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
