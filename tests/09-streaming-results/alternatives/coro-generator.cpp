// RIGHT: an async generator (experimental::coro) yields keyset pages, one per resume.
//
// It runs only when the consumer resumes it, so it never reads ahead. Boost 1.81 experimental;
// the lesson says why the chapter's fix pulls pages with a plain function instead.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/coro.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <stdexcept>
#include <utility>

#include "event_export.hpp"

namespace ch09 {

boost::asio::awaitable<Page> next_page(mockdb::DatabaseService& db, Cursor& cursor,
                                       std::size_t page_size) {
  if (page_size == 0)
    throw std::invalid_argument("next_page(): page_size 0 would never reach the end");
  if (cursor.done) co_return Page{};
  mockdb::Params params{cursor.last_id, page_size};
  mockdb::Rows rows = co_await db.query("SELECT * FROM events WHERE id > $1 ORDER BY id LIMIT $2",
                                        std::move(params));
  Page page;
  page.reserve(rows.size());
  for (const mockdb::Row& row : rows) page.emplace_back(row);
  if (page.size() < page_size) cursor.done = true;
  if (!page.empty()) cursor.last_id = page.back().id;
  cursor.rows_read += page.size();
  co_return page;
}

namespace {

// The pages of the table, one per resume. A coro runs only when resumed, so it
// never reads a page the consumer has not asked for. Its promise has no
// await_transform for asio::awaitable (boost/asio/experimental/impl/coro.hpp
// accepts async operations and other coros), so each page query is run with
// co_spawn(..., deferred), an async operation it can await.
boost::asio::experimental::coro<Page> pages(boost::asio::any_io_executor executor,
                                            mockdb::DatabaseService& db, std::size_t page_size) {
  Cursor cursor;
  while (!cursor.done) {
    Page page = co_await boost::asio::co_spawn(executor, next_page(db, cursor, page_size),
                                               boost::asio::deferred);
    if (page.empty()) break;
    co_yield std::move(page);
  }
}

}  // namespace

boost::asio::awaitable<std::uint64_t> for_each_event(mockdb::DatabaseService& db,
                                                     std::size_t page_size, EventSink sink) {
  if (page_size == 0)
    throw std::invalid_argument("for_each_event(): page_size 0 would never reach the end");
  std::uint64_t handed_out = 0;
  auto executor = co_await boost::asio::this_coro::executor;
  auto stream = pages(executor, db, page_size);
  // `page` lives for one iteration: it is gone before the next resume reads more.
  while (std::optional<Page> page = co_await stream.async_resume(boost::asio::use_awaitable)) {
    for (const Event& event : *page) {
      ++handed_out;
      if (!sink(event)) co_return handed_out;  // destroying `stream` ends the generator
    }
  }
  co_return handed_out;
}

}  // namespace ch09
