// Chapter 09, the fix: one page at a time, paged by key.
//
// next_page() asks for "the rows after the last id I handed out"
// (WHERE id > $1 ORDER BY id LIMIT $2). The database walks the id index from
// that id on, so every page reads only its own rows and a whole export reads
// the table once. for_each_event() hands each page to the sink as soon as it
// has it and drops it before asking for the next: at most one page is in
// memory, the first row arrives after one query, and when the sink says stop
// no further page is read.
#include "event_export.hpp"

#include <stdexcept>
#include <utility>

namespace ch09 {

boost::asio::awaitable<Page> next_page(mockdb::DatabaseService& db, Cursor& cursor,
                                       std::size_t page_size) {
  if (page_size == 0)
    throw std::invalid_argument("next_page(): page_size 0 would never reach the end");
  if (cursor.done) co_return Page{};
  //! [fix_page]
  mockdb::Params params{cursor.last_id, page_size};
  mockdb::Rows rows = co_await db.query("SELECT * FROM events WHERE id > $1 ORDER BY id LIMIT $2",
                                        std::move(params));
  //! [fix_page]
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
  //! [fix_consume]
  while (!cursor.done) {
    // Declared inside the loop: this page is gone before the next is read.
    const Page page = co_await next_page(db, cursor, page_size);
    for (const Event& event : page) {
      ++handed_out;
      if (!sink(event)) co_return handed_out;  // no further page is read
    }
  }
  //! [fix_consume]
  co_return handed_out;
}

}  // namespace ch09
