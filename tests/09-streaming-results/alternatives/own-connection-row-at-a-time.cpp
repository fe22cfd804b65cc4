// RIGHT: one connection of the export's own for all its pages; each row moved out as handed over.
//
// The moved-out Event is one more Event while its shell stays in the page: the test allows one.
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "event_export.hpp"

namespace ch09 {

namespace {

// One keyset page from any Queryable (the pool or a connection of our own).
boost::asio::awaitable<Page> page_from(mockdb::Queryable& source, Cursor& cursor,
                                       std::size_t page_size) {
  if (cursor.done) co_return Page{};
  mockdb::Params params{cursor.last_id, page_size};
  std::string sql = "SELECT * FROM events WHERE id > $1 ORDER BY id LIMIT $2";
  mockdb::Rows rows = co_await source.query(std::move(sql), std::move(params));
  Page page;
  page.reserve(rows.size());
  for (const mockdb::Row& row : rows) page.emplace_back(row);
  if (page.size() < page_size) cursor.done = true;
  if (!page.empty()) cursor.last_id = page.back().id;
  cursor.rows_read += page.size();
  co_return page;
}

}  // namespace

boost::asio::awaitable<Page> next_page(mockdb::DatabaseService& db, Cursor& cursor,
                                       std::size_t page_size) {
  if (page_size == 0)
    throw std::invalid_argument("next_page(): page_size 0 would never reach the end");
  co_return co_await page_from(db, cursor, page_size);
}

// The export holds one connection of its own for all its pages (a real
// exporter would open a REPEATABLE READ transaction on it), and hands rows out
// one at a time, releasing each row as soon as the sink has seen it.
boost::asio::awaitable<std::uint64_t> for_each_event(mockdb::DatabaseService& db,
                                                     std::size_t page_size, EventSink sink) {
  if (page_size == 0)
    throw std::invalid_argument("for_each_event(): page_size 0 would never reach the end");
  std::uint64_t handed_out = 0;
  Cursor cursor;
  std::unique_ptr<mockdb::Connection> conn = co_await db.connect();
  while (!cursor.done) {
    Page page = co_await page_from(*conn, cursor, page_size);
    for (Event& in_page : page) {
      const Event event = std::move(in_page);  // the row leaves the page as it is handed out
      ++handed_out;
      if (!sink(event)) {
        co_await conn->close();
        co_return handed_out;
      }
    }
  }
  co_await conn->close();
  co_return handed_out;
}

}  // namespace ch09
