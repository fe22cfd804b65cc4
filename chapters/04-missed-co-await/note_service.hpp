// Chapter 04 — the missed co_await.
//
// A notes service saves what a user typed: one note at a time (save_note), or
// a whole batch at once (save_notes, which should write the notes
// concurrently). Each reports what it saved, and a caller relies on that
// report: once it says "saved", the note is in the database and can be read
// back, with the id reported. A batch reports every draft's own result, so
// that one failed write does not hide the notes the others wrote. The pitfall
// (chapters/) and the fix (solutions/) define both functions in
// note_service.cpp; this header is their shared interface.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <exception>
#include <string>
#include <vector>

#include "mockdb/database.hpp"

namespace ch04 {

/// The table the notes live in.
inline constexpr const char* kNotesTable = "notes";

/// What a user typed: a note not saved yet.
struct Draft {
  std::string title;  ///< The note's title.
  std::string body;   ///< The note's text.
};

/// What saving one note reports to its caller: saved with the id the
/// database gave it, or not saved and why.
///
/// In a batch a failed write is a value, not an exception, so that one
/// failure does not take the other drafts' ids with it: a caller that lost
/// them could not read those notes back, and retrying the whole batch would
/// write them twice.
struct SaveResult {
  bool saved = false;                 ///< True if the handler says the note is in the database.
  mockdb::Id id = 0;                  ///< The note's id in table "notes"; 0 if it is not known.
  boost::system::error_code error{};  ///< Why the write failed; empty if it did not.
};

/// Saves one note (fields "title" and "body" in table "notes"). When the
/// returned awaitable completes with `saved`, the note is in the database.
/// Database errors are thrown (mockdb::DatabaseError, a
/// boost::system::system_error): for one note, the caller's own try/catch is
/// the natural place to handle them.
boost::asio::awaitable<SaveResult> save_note(mockdb::DatabaseService& db, std::string title,
                                             std::string body);

/// Saves every draft, the writes running concurrently, and reports one result
/// per draft, in the drafts' order: `saved` and the note's id, or the error
/// that stopped that draft's write. It does not throw database errors: a write
/// that fails is reported in its draft's result, and the other drafts' results
/// still count. When the returned awaitable completes, every note reported
/// `saved` is in the database.
boost::asio::awaitable<std::vector<SaveResult>> save_notes(mockdb::DatabaseService& db,
                                                           std::vector<Draft> drafts);

// ---- provided (notes.cpp) ----

/// The row a note is stored as: fields "title" and "body".
mockdb::Row note_row(const std::string& title, const std::string& body);

/// The result of a write that failed with `failure`: not saved, with the
/// database error's code. Rethrows `failure` if it is not a database error
/// (boost::system::system_error): that is a bug or out of memory, which no
/// caller of save_notes() can act on per draft. `failure` must not be null.
SaveResult failed_write(const std::exception_ptr& failure);

}  // namespace ch04
