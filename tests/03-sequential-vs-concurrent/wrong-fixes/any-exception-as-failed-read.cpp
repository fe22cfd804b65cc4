// WRONG: a bug thrown by one read is turned into a failed result, as if the database failed.
// expect: reported it as a failed read of note 2
//
// "Keep the other results when one read fails", over-applied: catch
// (std::exception&) around each read. Database errors are facts about the
// data and belong in the result; a logic_error is a fact about the program.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/errc.hpp>
#include <exception>
#include <utility>

#include "note_reader.hpp"

namespace ch03 {

namespace asio = boost::asio;

namespace {
// read_note(), with anything it throws reported as a failed read.
asio::awaitable<NoteResult> read_note_whatever_happens(mockdb::DatabaseService& db, mockdb::Id id) {
  try {
    co_return co_await read_note(db, id);
  } catch (const std::exception&) {
    NoteResult failed;
    failed.id = id;
    failed.error = boost::system::errc::make_error_code(boost::system::errc::io_error);
    co_return failed;
  }
}
}  // namespace

boost::asio::awaitable<std::vector<NoteResult>> read_notes(mockdb::DatabaseService& db,
                                                           std::vector<mockdb::Id> ids) {
  if (ids.empty()) co_return std::vector<NoteResult>{};
  const auto ex = co_await asio::this_coro::executor;
  using Read = decltype(asio::co_spawn(ex, read_note_whatever_happens(db, 0), asio::deferred));
  std::vector<Read> reads;
  reads.reserve(ids.size());
  for (const mockdb::Id id : ids) {
    reads.push_back(asio::co_spawn(ex, read_note_whatever_happens(db, id), asio::deferred));
  }
  auto [order, errors, results] =
      co_await asio::experimental::make_parallel_group(std::move(reads))
          .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  co_return std::move(results);
}

boost::asio::awaitable<std::array<NoteResult, 3>> read_three(mockdb::DatabaseService& db,
                                                             mockdb::Id a, mockdb::Id b,
                                                             mockdb::Id c) {
  using namespace asio::experimental::awaitable_operators;
  auto [first, second, third] =
      co_await (read_note_whatever_happens(db, a) && read_note_whatever_happens(db, b) &&
                read_note_whatever_happens(db, c));
  co_return std::array{std::move(first), std::move(second), std::move(third)};
}

}  // namespace ch03
