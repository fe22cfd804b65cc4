// Chapter 00's provided code: how one note is written. The pitfall, the fix,
// the test and the demo all use it; the lesson is about what runs it.
#include "note_saver.hpp"

namespace ch00 {

boost::asio::awaitable<mockdb::Id> write_note(mockdb::DatabaseService& db, Note note) {
  // Runs only once the awaitable is awaited or spawned: this line included.
  mockdb::Row row;
  row["title"] = note.title;
  row["body"] = note.body;
  co_return co_await db.create(kNotesTable, std::move(row));
}

}  // namespace ch00
