// Chapter 03 — sequential vs concurrent operations.
//
// A page of the notes app shows several notes at once, so it reads them by id
// from the database. Each read spends most of its time waiting for the
// database; the question is whether those waits happen one after another or
// all at the same time. The pitfall (chapters/) and the fix (solutions/) define
// read_notes() and read_three() in a file of the same name; this header is
// their shared interface.
#pragma once

#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mockdb/database.hpp"

namespace ch03 {

/// The table the notes live in.
inline constexpr const char* kNotesTable = "notes";

/// What reading one note gave: the note, "no such note", or an error.
///
/// A failed read is a value, not an exception, so that one failure among
/// many reads does not take the other reads' results with it.
struct NoteResult {
  mockdb::Id id = 0;                ///< The id that was asked for.
  std::optional<mockdb::Row> note;  ///< The note; empty if there is none or the read failed.
  boost::system::error_code error;  ///< Why the read failed; empty if it did not.

  /// True if the read failed (as opposed to finding no note).
  bool failed() const noexcept { return static_cast<bool>(error); }
};

/// Reads the notes `ids`, and returns one result per id, in the order given.
///
/// Failures, by kind:
///  - A database error (a mockdb::DatabaseError, or any
///    boost::system::system_error, which read_note() catches) is a fact about
///    the data: it is reported in that read's own result, and the other
///    results still count. Nothing is dropped and nothing is cancelled.
///  - Any other exception a read throws (a bug such as std::logic_error,
///    memory exhausted as std::bad_alloc) is a fact about the program, not a
///    result: it propagates to the caller unchanged. The other reads may be
///    left to finish or cancelled, but all of them have ended when it does.
///
/// Either way, no read started by this call is still running when it returns
/// or throws: the caller may destroy `db` right after.
boost::asio::awaitable<std::vector<NoteResult>> read_notes(mockdb::DatabaseService& db,
                                                           std::vector<mockdb::Id> ids);

/// The same for exactly three notes, with the same rules for failures: the
/// form to use when the number of reads is known when the code is written.
boost::asio::awaitable<std::array<NoteResult, 3>> read_three(mockdb::DatabaseService& db,
                                                             mockdb::Id a, mockdb::Id b,
                                                             mockdb::Id c);

// ---- provided (notes.cpp) ----

/// Reads one note. Never throws a database error: it returns it in the result.
boost::asio::awaitable<NoteResult> read_note(mockdb::DatabaseService& db, mockdb::Id id);

/// Adds `count` notes titled "note 1", "note 2", ... (ids 1 to `count`).
boost::asio::awaitable<void> add_sample_notes(mockdb::DatabaseService& db, int count);

}  // namespace ch03
