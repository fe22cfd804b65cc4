// WRONG: pages are handed over one by one, but read with OFFSET: page k rescans k-1 pages.
// expect: rows scanned quadratic
//
// The consumer half of the fix is here; the page query still skips rows with OFFSET.
#include <utility>

#include "event_export.hpp"

namespace ch09 {

boost::asio::awaitable<Page> next_page(mockdb::DatabaseService& db, Cursor& cursor,
                                       std::size_t page_size) {
  if (cursor.done) co_return Page{};
  mockdb::Params params{page_size, cursor.rows_read};
  mockdb::Rows rows =
      co_await db.query("SELECT * FROM events ORDER BY id LIMIT $1 OFFSET $2", std::move(params));
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
