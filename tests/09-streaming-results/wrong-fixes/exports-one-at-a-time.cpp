// WRONG: a static "busy" flag polled every 1 ms makes two exports at once take turns.
// expect: Expected them to overlap
//
// Every row arrives, so only the time two exports take shows it: the sum, not the longer.
#include <chrono>
#include <stdexcept>
#include <utility>

#include "event_export.hpp"
#include "workbook/timer.hpp"

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
  static bool busy = false;  // one export at a time, to be safe
  // Another export clears the flag while this one sleeps (tidy sees one coroutine only).
  while (busy)  // NOLINT(bugprone-infinite-loop)
    co_await workbook::sleep_for(std::chrono::milliseconds(1));
  busy = true;
  struct Release {
    ~Release() { busy = false; }
  } release;
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
