// Chapter 03's provided building blocks: reading one note with its failure
// turned into a value, and sample notes. Both the pitfall and the fix use
// them; the lesson is only about how the reads are awaited.
#include <boost/json/object.hpp>
#include <boost/system/system_error.hpp>

#include "note_reader.hpp"

namespace ch03 {

boost::asio::awaitable<NoteResult> read_note(mockdb::DatabaseService& db, mockdb::Id id) {
  NoteResult result;
  result.id = id;
  try {
    result.note = co_await db.read(kNotesTable, id);
  } catch (const boost::system::system_error& failure) {
    result.error = failure.code();
  }
  co_return result;
}

boost::asio::awaitable<void> add_sample_notes(mockdb::DatabaseService& db, int count) {
  for (int i = 1; i <= count; ++i) {
    mockdb::Row note;
    note["title"] = "note " + std::to_string(i);
    co_await db.create(kNotesTable, std::move(note));
  }
}

}  // namespace ch03
