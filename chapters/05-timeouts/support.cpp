// Chapter 05's provided code: the timeout error, the body of a page request,
// and sample notes. The pitfall and the fix share all of it; the lesson is
// only about how a deadline is enforced.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdio>
#include <string>

#include "mockdb/errors.hpp"
#include "note_service.hpp"

namespace ch05 {

void throw_timed_out(std::string_view what, workbook::Clock::duration limit) {
  char within[64];
  std::snprintf(within, sizeof within, ": no reply within %.0f ms", workbook::to_ms(limit));
  mockdb::throw_database_error(mockdb::Errc::timed_out, std::string(what) + within);
}

boost::asio::awaitable<std::optional<Page>> fetch_page(mockdb::DatabaseService& db, mockdb::Id id) {
  std::optional<mockdb::Row> note = co_await db.read(kNotesTable, id);
  if (!note) co_return std::nullopt;
  mockdb::Params params{id};
  mockdb::Rows comments = co_await db.query(
      std::string("SELECT * FROM ") + kCommentsTable + " WHERE note = $1", std::move(params));
  co_return Page{.note = std::move(*note), .comments = std::move(comments)};
}

boost::asio::awaitable<void> add_sample_notes(mockdb::DatabaseService& db, int count) {
  for (int i = 1; i <= count; ++i) {
    mockdb::Row note;
    note["title"] = "note " + std::to_string(i);
    const mockdb::Id id = co_await db.create(kNotesTable, std::move(note));
    for (int c = 1; c <= 2; ++c) {
      mockdb::Row comment;
      comment["note"] = id;
      comment["text"] = "comment " + std::to_string(c) + " on note " + std::to_string(i);
      co_await db.create(kCommentsTable, std::move(comment));
    }
  }
}

}  // namespace ch05
