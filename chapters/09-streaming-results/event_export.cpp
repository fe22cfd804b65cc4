// Chapter 09, the pitfall: the whole table in one vector, paged with OFFSET.
//
// next_page() asks for "the rows after the first N" with LIMIT/OFFSET. The
// database cannot jump to the Nth row: it walks the id index from the start
// and throws the first N rows away, so page k reads k pages' worth of rows and
// a whole export reads the table about pages/2 times over. for_each_event()
// then collects every page into one vector before the sink sees a row: the
// memory it holds grows with the table, and the first row waits for the last
// page.
#include "event_export.hpp"

#include <stdexcept>
#include <utility>

namespace ch09 {

boost::asio::awaitable<Page> next_page(mockdb::DatabaseService& db, Cursor& cursor,
                                       std::size_t page_size) {
  if (page_size == 0)
    throw std::invalid_argument("next_page(): page_size 0 would never reach the end");
  if (cursor.done) co_return Page{};
  //! [pitfall_page]
  mockdb::Params params{page_size, cursor.rows_read};
  mockdb::Rows rows =
      co_await db.query("SELECT * FROM events ORDER BY id LIMIT $1 OFFSET $2", std::move(params));
  //! [pitfall_page]
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
  if (page_size == 0)
    throw std::invalid_argument("for_each_event(): page_size 0 would never reach the end");
  std::uint64_t handed_out = 0;
  Cursor cursor;
  //! [pitfall_consume]
  std::vector<Event> everything;  // every row of the table, until the end
  while (!cursor.done) {
    Page page = co_await next_page(db, cursor, page_size);
    for (Event& event : page) everything.push_back(std::move(event));
  }
  for (const Event& event : everything) {
    ++handed_out;
    if (!sink(event)) break;
  }
  //! [pitfall_consume]
  co_return handed_out;
}

}  // namespace ch09
