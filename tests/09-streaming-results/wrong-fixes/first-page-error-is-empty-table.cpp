// WRONG: an error on page 1 is taken for an empty table and swallowed: 0 rows, no error.
// expect: page 1.s query failed, yet for_each_event\(\) returned normally
//
// Found by a reviewer: the caller cannot tell a failed export from an empty table.
#include <stdexcept>
#include <utility>

#include "event_export.hpp"
#include "mockdb/errors.hpp"

namespace ch09 {

boost::asio::awaitable<Page> next_page(mockdb::DatabaseService& db, Cursor& cursor,
                                       std::size_t page_size) {
  if (page_size == 0)
    throw std::invalid_argument("next_page(): page_size 0 would never reach the end");
  if (cursor.done) co_return Page{};
  mockdb::Params params{cursor.last_id, page_size};
  mockdb::Rows rows;
  bool empty_table = false;
  try {
    rows = co_await db.query("SELECT * FROM events WHERE id > $1 ORDER BY id LIMIT $2",
                             std::move(params));
  } catch (const mockdb::DatabaseError&) {
    if (cursor.last_id != 0) throw;
    empty_table = true;  // the table does not exist yet: nothing to export
  }
  if (empty_table) {
    cursor.done = true;
    co_return Page{};
  }
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
  while (!cursor.done) {
    const Page page = co_await next_page(db, cursor, page_size);
    for (const Event& event : page) {
      ++handed_out;
      if (!sink(event)) co_return handed_out;
    }
  }
  co_return handed_out;
}

}  // namespace ch09
