// RIGHT: a reader coroutine and the consumer joined by two unbuffered channels.
//
// The reader reads a page only when the consumer asks for one (no read-ahead), errors travel
// as exception_ptr, and a stop (or a sink that throws) tells the reader to finish.
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
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

namespace asio = boost::asio;

// One page handed from the reader to the consumer: the rows, or the error that
// ended the stream; `last` once no page follows.
using PageChannel =
    asio::experimental::channel<void(boost::system::error_code, std::exception_ptr, Page, bool)>;
// The consumer's requests: true for "the next page, please", false for "stop".
using DemandChannel = asio::experimental::channel<void(boost::system::error_code, bool)>;

// Reads a page only when the consumer asks for one (no read-ahead).
asio::awaitable<void> reader(mockdb::DatabaseService& db, std::size_t page_size,
                             DemandChannel& demand, PageChannel& pages) {
  Cursor cursor;
  for (;;) {
    const bool want = co_await demand.async_receive(asio::use_awaitable);
    if (!want) co_return;
    std::exception_ptr error;
    Page page;
    try {
      page = co_await next_page(db, cursor, page_size);
    } catch (...) {
      error = std::current_exception();
    }
    const bool last = error != nullptr || cursor.done;
    co_await pages.async_send(boost::system::error_code{}, error, std::move(page), last,
                              asio::use_awaitable);
    if (last) co_return;
  }
}

asio::awaitable<void> consumer(DemandChannel& demand, PageChannel& pages, EventSink& sink,
                               std::uint64_t& handed_out) {
  for (;;) {
    co_await demand.async_send(boost::system::error_code{}, true, asio::use_awaitable);
    auto [error, page, last] = co_await pages.async_receive(asio::use_awaitable);
    if (error) std::rethrow_exception(error);
    for (const Event& event : page) {
      ++handed_out;
      // A sink that throws stops the reader too, then its exception goes on
      // alone: if the reader were cancelled instead, operator&& would throw
      // both as asio's multiple_exceptions (no co_await in a catch block).
      std::exception_ptr sink_failed;
      bool more = false;
      try {
        more = sink(event);
      } catch (...) {
        sink_failed = std::current_exception();
      }
      if (sink_failed || !more) {
        page.clear();
        if (!last)
          co_await demand.async_send(boost::system::error_code{}, false, asio::use_awaitable);
        if (sink_failed) std::rethrow_exception(sink_failed);
        co_return;
      }
    }
    if (last) co_return;
  }
}

}  // namespace

boost::asio::awaitable<std::uint64_t> for_each_event(mockdb::DatabaseService& db,
                                                     std::size_t page_size, EventSink sink) {
  if (page_size == 0)
    throw std::invalid_argument("for_each_event(): page_size 0 would never reach the end");
  using namespace boost::asio::experimental::awaitable_operators;
  const auto executor = co_await asio::this_coro::executor;
  DemandChannel demand(executor, 0);
  PageChannel pages(executor, 0);
  std::uint64_t handed_out = 0;
  co_await (reader(db, page_size, demand, pages) && consumer(demand, pages, sink, handed_out));
  co_return handed_out;
}

}  // namespace ch09
