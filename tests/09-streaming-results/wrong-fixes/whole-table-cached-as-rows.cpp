// WRONG: one query reads the whole table into a cache of mockdb::Rows; pages are cut from it.
// expect: which was set to fail, never ran
#include <map>
#include <stdexcept>
#include <utility>

#include "event_export.hpp"

namespace ch09 {

namespace {
// One query for the whole table, scanned once; pages are cut from it.
std::map<mockdb::DatabaseService*, mockdb::Rows> cache;
}  // namespace

boost::asio::awaitable<Page> next_page(mockdb::DatabaseService& db, Cursor& cursor,
                                       std::size_t page_size) {
  if (page_size == 0)
    throw std::invalid_argument("next_page(): page_size 0 would never reach the end");
  if (cursor.done) co_return Page{};
  if (cursor.rows_read == 0) {
    cache[&db] = co_await db.query("SELECT * FROM events ORDER BY id");
  }
  const mockdb::Rows& rows = cache[&db];
  Page page;
  for (std::size_t i = cursor.rows_read; i < rows.size() && page.size() < page_size; ++i)
    page.emplace_back(rows[i]);
  if (page.size() < page_size) {
    cursor.done = true;
    cache.erase(&db);
  }
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
