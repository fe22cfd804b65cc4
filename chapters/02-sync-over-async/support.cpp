// Chapter 02's provided code: the store over the database, with its
// asynchronous factory; the page templates and the old synchronous renderer;
// the trace of threads waiting in the bridge; sample data. The pitfall and the
// fix differ only in note_pages.cpp.
#include <boost/json/object.hpp>
#include <string>

#include "note_store.hpp"

namespace ch02 {

boost::asio::awaitable<std::unique_ptr<DatabaseNoteStore>> DatabaseNoteStore::open(
    mockdb::DatabaseService& db) {
  // What a constructor would have had to block for: a round trip that proves
  // the database answers and the table exists (it throws otherwise).
  co_await db.query("SELECT * FROM notes LIMIT 1");
  co_return std::unique_ptr<DatabaseNoteStore>(new DatabaseNoteStore(db));
}

boost::asio::awaitable<std::optional<Note>> DatabaseNoteStore::find(mockdb::Id id) {
  const std::optional<mockdb::Row> row = co_await db_.read(kNotesTable, id);
  if (!row) co_return std::nullopt;
  co_return Note{id, std::string(row->at("title").as_string()),
                 std::string(row->at("body").as_string())};
}

boost::asio::awaitable<void> DatabaseNoteStore::log_view(mockdb::Id id) {
  mockdb::Row view{{"note", id}};
  co_await db_.create(kViewsTable, std::move(view));
}

workbook::Trace& bridge_trace() {
  static workbook::Trace trace{"sync bridge"};
  return trace;
}

BlockedThread::BlockedThread(std::string what)
    : span_(bridge_trace().begin("thread blocked in future::get()", std::move(what))) {}

BlockedThread::~BlockedThread() { bridge_trace().end(span_, workbook::Outcome::ok); }

std::string note_page(const Note& note) {
  return "<h1>" + note.title + "</h1><p>" + note.body + "</p>";
}

std::string not_found_page(mockdb::Id id) {
  return "<h1>404</h1><p>no note " + std::to_string(id) + "</p>";
}

std::string render_note_page(BlockingNoteStore& store, mockdb::Id id) {
  const std::optional<Note> note = store.find(id);
  if (!note) return not_found_page(id);
  store.log_view(id);
  return note_page(*note);
}

boost::asio::awaitable<void> add_notes(mockdb::DatabaseService& db, int count) {
  for (int i = 1; i <= count; ++i) {
    mockdb::Row row{{"title", "note " + std::to_string(i)},
                    {"body", "text of note " + std::to_string(i)}};
    co_await db.create(kNotesTable, std::move(row));
  }
}

}  // namespace ch02
