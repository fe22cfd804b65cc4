// RIGHT: reads spawned with a handler that fills their slot; a channel says when all are done.
//
// The design without parallel_group: co_spawn with a handler (not use_awaitable)
// starts the read now (the handler is a plain completion handler:
// boost/asio/async_result.hpp's completion_handler_async_result::initiate calls
// the initiation at once). The slot index keeps the results in the order asked
// whatever order they complete in; the channel is how the caller waits.
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

namespace {

// What the reads of one call share: their slots, and a channel on which
// each reports that its slot is filled. Owned by the handlers too, so that a
// handler never writes into a frame that has gone.
struct Batch {
  Batch(const asio::any_io_executor& ex, std::size_t n) : results(n), errors(n), done(ex, n) {}
  std::vector<NoteResult> results;
  std::vector<std::exception_ptr> errors;
  asio::experimental::channel<void(boost::system::error_code)> done;
};

}  // namespace

boost::asio::awaitable<std::vector<NoteResult>> read_notes(mockdb::DatabaseService& db,
                                                           std::vector<mockdb::Id> ids) {
  const auto ex = co_await asio::this_coro::executor;
  auto batch = std::make_shared<Batch>(ex, ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    asio::co_spawn(ex, read_note(db, ids[i]),
                   [batch, i](const std::exception_ptr& e, NoteResult r) {
                     batch->results[i] = std::move(r);
                     batch->errors[i] = e;
                     batch->done.try_send(boost::system::error_code{});  // capacity n: never full
                   });
  }
  for (std::size_t n = 0; n < ids.size(); ++n)
    co_await batch->done.async_receive(asio::use_awaitable);
  for (const std::exception_ptr& e : batch->errors) {
    if (e) std::rethrow_exception(e);  // not a database error: every read has ended
  }
  co_return std::move(batch->results);
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
