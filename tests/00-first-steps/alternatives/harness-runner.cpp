// RIGHT: the harness's run_to_completion runs a parallel group of the writes.
//
// The workbook's own runner, workbook::run_to_completion, spawns one coroutine that starts every
// write and collects them with a parallel group, and runs the loop until it completes.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <exception>

#include "note_saver.hpp"
#include "workbook/run.hpp"

namespace asio = boost::asio;

namespace ch00 {

std::vector<mockdb::Id> save_notes(asio::io_context& ctx, mockdb::DatabaseService& db,
                                   const std::vector<Note>& notes) {
  auto save_all = [&]() -> asio::awaitable<std::vector<mockdb::Id>> {
    if (notes.empty()) co_return std::vector<mockdb::Id>{};  // a group of none never completes
    const auto ex = co_await asio::this_coro::executor;
    using Write = decltype(asio::co_spawn(ex, write_note(db, notes[0]), asio::deferred));
    std::vector<Write> writes;
    writes.reserve(notes.size());
    for (const Note& note : notes)
      writes.push_back(asio::co_spawn(ex, write_note(db, note), asio::deferred));
    auto [order, errors, ids] =
        co_await asio::experimental::make_parallel_group(std::move(writes))
            .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    for (const std::exception_ptr& error : errors) {
      if (error) std::rethrow_exception(error);
    }
    co_return ids;
  };
  // In real time, run_to_completion runs the loop until the coroutine is done.
  return workbook::run_to_completion(ctx, save_all(), "save_notes");
}

}  // namespace ch00
