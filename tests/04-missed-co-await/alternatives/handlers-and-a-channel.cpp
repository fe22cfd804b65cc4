// RIGHT: Writes spawned with handlers that record results and signal a channel awaited N times.
//
// every write is spawned at once with a completion handler that records its draft's result and
// signals a channel, and save_notes() receives one signal per write before it returns.
//
// A gallery entry for chapter 04's test: a join written by hand. co_spawn with
// a handler starts the write now (it dispatches); the channel is what the
// batch awaits, so it resumes exactly when the last write has completed.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <exception>
#include <memory>
#include <utility>

#include "note_service.hpp"

namespace asio = boost::asio;

namespace ch04 {

namespace {

// What the handlers share with the batch: the results, and a channel with
// room for one signal per write, so that no handler ever waits to send.
struct Join {
  Join(const asio::any_io_executor& ex, std::size_t n) : results(n), done(ex, n) {}
  std::vector<SaveResult> results;
  asio::experimental::channel<void(boost::system::error_code)> done;
};

}  // namespace

asio::awaitable<SaveResult> save_note(mockdb::DatabaseService& db, std::string title,
                                      std::string body) {
  mockdb::Row row = note_row(title, body);
  const mockdb::Id id = co_await db.create(kNotesTable, std::move(row));
  co_return SaveResult{.saved = true, .id = id};
}

asio::awaitable<std::vector<SaveResult>> save_notes(mockdb::DatabaseService& db,
                                                    std::vector<Draft> drafts) {
  const auto ex = co_await asio::this_coro::executor;
  auto join = std::make_shared<Join>(ex, drafts.size());
  for (std::size_t i = 0; i < drafts.size(); ++i) {
    mockdb::Row row = note_row(drafts[i].title, drafts[i].body);
    auto record = [join, i](const std::exception_ptr& failure, mockdb::Id id) {
      join->results[i] = failure ? failed_write(failure) : SaveResult{.saved = true, .id = id};
      join->done.try_send(boost::system::error_code{});
    };
    asio::co_spawn(ex, db.create(kNotesTable, std::move(row)), std::move(record));
  }
  for (std::size_t received = 0; received < drafts.size(); ++received) {
    co_await join->done.async_receive(asio::use_awaitable);
  }
  co_return std::move(join->results);
}

}  // namespace ch04
