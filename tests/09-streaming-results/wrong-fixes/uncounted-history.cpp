// WRONG: keeps every row in a history of copies of a moved-from Event, filled field by field.
// expect: peak rows resident [0-9]+, budget [0-9]+.*the whole table
//
// A dodge of the resident-row count: every Event object counts, moved-from shells included.
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
  // An audit trail of what was exported (grows with the table).
  std::vector<Event> history;
  Event blank_template{mockdb::Row{{"id", 0}, {"amount", 0}, {"kind", ""}}};
  { Event gone = std::move(blank_template); }  // blank_template: empty and uncounted now
  while (!cursor.done) {
    const Page page = co_await next_page(db, cursor, page_size);
    for (const Event& event : page) {
      ++handed_out;
      Event& kept = history.emplace_back(blank_template);  // a copy of an uncounted Event
      kept.id = event.id;
      kept.amount = event.amount;
      kept.kind = event.kind;
      if (!sink(event)) co_return handed_out;
    }
  }
  co_return handed_out;
}

}  // namespace ch09
