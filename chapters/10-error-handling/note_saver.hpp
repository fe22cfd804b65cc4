// Chapter 10 — error handling and context.
//
// An editor autosaves a user's note in the background: start_save() starts
// the save and returns at once, and the outcome reaches the caller later,
// through the caller's SaveReporter. Every save ends in exactly one report:
// saved, refused (an expected outcome: the note is gone, or the user already
// has another note with that title), or failed (the database failed, which
// nobody expected). A failure must say what was being done and keep the
// database's own error inside it, so the caller can both show it to a person
// and decide by its code whether to try again. The pitfall (chapters/) and
// the fix (solutions/) define start_save() in note_saver.cpp; this header is
// their shared interface.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <exception>
#include <string>

#include "mockdb/database.hpp"

namespace ch10 {

/// The table the notes live in; a note's owner is its "owner" field.
inline constexpr const char* kNotesTable = "notes";

/// A new version of one of a user's notes.
struct Edit {
  mockdb::Id note = 0;  ///< The note being saved (its row id in table "notes").
  mockdb::Id user = 0;  ///< The user who owns it (the row's "owner" field).
  std::string title;    ///< The new title, exactly as the user typed it.
  std::string body;     ///< The new text.
};

/// Why an edit was not saved, when that is an ordinary outcome and not a failure.
enum class Refusal {
  no_such_note = 1,  ///< The note does not exist (it was deleted meanwhile).
  duplicate_title,   ///< The user has another note with exactly this title.
};

/// "no such note" or "duplicate title".
const char* to_string(Refusal refusal) noexcept;

/// Where the outcome of each save goes: the caller's, not a log. Called on the
/// executor given to start_save().
class SaveReporter {
 public:
  virtual ~SaveReporter() = default;
  /// The edit is in the database.
  virtual void saved(const Edit& edit) = 0;
  /// The edit was refused, as happens any day; nothing was written.
  virtual void refused(const Edit& edit, Refusal why) = 0;
  /// The save failed unexpectedly. `error` is not null. For a database
  /// failure it is a boost::system::system_error whose code() is the
  /// database's own (so mockdb::is_transient(code) and comparisons with
  /// mockdb::ErrorClass work on it), whose what() says what was being done,
  /// naming the note and the user, each word followed by its number (for
  /// example "saving note 42 for user 7: ..."; "user 7's note #42" does too),
  /// and goes on with the database's message, and which nests the database's
  /// exception: std::rethrow_if_nested rethrows it, a mockdb::DatabaseError
  /// with the server's diagnostics. Any other failure (a bug's
  /// std::logic_error, a std::bad_alloc) is reported here too, as it was
  /// thrown or nested in an error that adds context.
  virtual void failed(const Edit& edit, std::exception_ptr error) = 0;
};

/// Starts saving `edit` (its title and body, into its row of table "notes")
/// and returns at once, before anything is written. Saves started one after
/// another run concurrently. A title the same user already gave another note
/// is refused (Refusal::duplicate_title), as is a note that does not exist
/// (Refusal::no_such_note). Exactly one of `reporter`'s functions is called
/// for the save once it ends, on `ex`; no exception leaves the event loop.
/// `reporter` and `db` must outlive the save.
void start_save(const boost::asio::any_io_executor& ex, mockdb::DatabaseService& db, Edit edit,
                SaveReporter& reporter);

// ---- provided (notes.cpp) ----

/// The fields a save writes into the note's row: "title" and "body".
mockdb::Row note_fields(const Edit& edit);

}  // namespace ch10
