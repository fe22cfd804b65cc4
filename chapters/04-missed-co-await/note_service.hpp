// Chapter 04 — the missed co_await.
//
// A notes service saves what a user typed: one note at a time (save_note), or
// a whole batch at once (save_notes, which should write the notes
// concurrently). Each reports what it saved, and a caller relies on that
// report: once it says "saved", the note is in the database and can be read
// back. The pitfall (chapters/) and the fix (solutions/) define both functions
// in note_service.cpp; this header is their shared interface.
#pragma once

#include <boost/asio/awaitable.hpp>
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

/// What a save reports to its caller.
struct SaveResult {
  bool saved = false;  ///< True if the handler says the note is in the database.
  mockdb::Id id = 0;   ///< The note's id in table "notes"; 0 if the handler does not know it.
};

/// Saves one note (fields "title" and "body" in table "notes"). When the
/// returned awaitable completes with `saved`, the note is in the database.
/// Database errors are thrown (boost::system::system_error).
boost::asio::awaitable<SaveResult> save_note(mockdb::DatabaseService& db, std::string title,
                                             std::string body);

/// Saves every draft, the writes running concurrently, and reports one result
/// per draft, in the drafts' order. When the returned awaitable completes,
/// every note reported `saved` is in the database.
boost::asio::awaitable<std::vector<SaveResult>> save_notes(mockdb::DatabaseService& db,
                                                           std::vector<Draft> drafts);

// ---- provided (notes.cpp) ----

/// The row a note is stored as: fields "title" and "body".
mockdb::Row note_row(const std::string& title, const std::string& body);

}  // namespace ch04
