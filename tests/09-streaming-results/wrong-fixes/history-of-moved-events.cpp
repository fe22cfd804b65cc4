// WRONG: keeps every Event handed out in a history vector (moved in, to dodge a copy).
// expect: the whole table: every row was held at once
#include <stdexcept>
#include <utility>
#include <vector>

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

boost::asio::awaitable<std::uint64_t> for_each_event(mockdb::DatabaseService& db,
                                                     std::size_t page_size, EventSink sink) {
  if (page_size == 0)
    throw std::invalid_argument("for_each_event(): page_size 0 would never reach the end");
  std::uint64_t handed_out = 0;
  Cursor cursor;
  std::vector<Event> history;  // every event handed out, kept for the audit trail
  while (!cursor.done) {
    Page page = co_await next_page(db, cursor, page_size);
    for (Event& event : page) {
      ++handed_out;
      if (!sink(event)) co_return handed_out;
      Event kept = std::move(event);  // no copy: the row moves in
      history.push_back(std::move(kept));
    }
  }
  co_return handed_out;
}

}  // namespace ch09
