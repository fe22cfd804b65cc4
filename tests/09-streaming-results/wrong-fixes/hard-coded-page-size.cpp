// WRONG: the page size is written into the query (LIMIT 50) instead of bound from page_size.
// expect: was never handed to the sink
//
// 50 is the size the test's first exports use; any other page size ends the stream early.
#include <utility>

#include "event_export.hpp"

namespace ch09 {

boost::asio::awaitable<Page> next_page(mockdb::DatabaseService& db, Cursor& cursor,
                                       std::size_t page_size) {
  if (cursor.done) co_return Page{};
  mockdb::Params params{cursor.last_id};
  mockdb::Rows rows = co_await db.query("SELECT * FROM events WHERE id > $1 ORDER BY id LIMIT 50",
                                        std::move(params));
  Page page;
  page.reserve(rows.size());
  for (const mockdb::Row& row : rows) page.emplace_back(row);
  if (page.size() < page_size) cursor.done = true;
  if (!page.empty()) cursor.last_id = page.back().id;
  cursor.rows_read += page.size();
  co_return page;
}

boost::asio::awaitable<std::uint64_t> for_each_event(mockdb::DatabaseService& db,
                                                     std::size_t page_size, EventSink sink) {
  std::uint64_t handed_out = 0;
  Cursor cursor;
  while (!cursor.done) {
    // Declared inside the loop: this page is gone before the next is read.
    const Page page = co_await next_page(db, cursor, page_size);
    for (const Event& event : page) {
      ++handed_out;
      if (!sink(event)) co_return handed_out;  // no further page is read
    }
  }
  co_return handed_out;
}

}  // namespace ch09
