// Chapter 02 — sync over async.
//
// A notes service is moving to coroutines. Its storage is now NoteStore, an
// abstract class whose virtual functions are coroutines (the C++ counterpart
// of a Rust trait under #[async_trait]), opened by an asynchronous factory.
// The old synchronous code is still there: render_note_page() takes a
// BlockingNoteStore, a bridge that runs each store coroutine on the event loop
// and waits for its result on a std::future.
//
// The exercise file, note_pages.cpp, holds the bridge's two functions and the
// request handler show_note(). The pitfall (chapters/) and the fix
// (solutions/) define them in a file of the same name; this header is their
// shared interface.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "mockdb/database.hpp"
#include "workbook/trace.hpp"

namespace ch02 {

/// The table the notes live in, and the one that logs each page view.
inline constexpr const char* kNotesTable = "notes";
inline constexpr const char* kViewsTable = "views";

/// A note as the pages show it.
struct Note {
  mockdb::Id id = 0;
  std::string title;
  std::string body;
};

/// The notes service's storage: the interface every caller programs against.
/// Each function is a coroutine; a call allocates its frame and suspends
/// until the database answers, leaving the thread to other requests.
class NoteStore {
 public:
  virtual ~NoteStore() = default;
  /// Note `id`, or std::nullopt if there is none.
  virtual boost::asio::awaitable<std::optional<Note>> find(mockdb::Id id) = 0;
  /// Records one view of note `id` (a row in table "views").
  virtual boost::asio::awaitable<void> log_view(mockdb::Id id) = 0;
};

/// NoteStore over a database (the mock, in this chapter). There is no public
/// constructor: opening a store does I/O (it checks that the notes table is
/// there), and a constructor cannot co_await. open() is the factory.
class DatabaseNoteStore final : public NoteStore {
 public:
  /// Opens a store on `db`, which must outlive it. Throws mockdb::DatabaseError
  /// if the database cannot be reached or has no notes table.
  static boost::asio::awaitable<std::unique_ptr<DatabaseNoteStore>> open(
      mockdb::DatabaseService& db);

  boost::asio::awaitable<std::optional<Note>> find(mockdb::Id id) override;
  boost::asio::awaitable<void> log_view(mockdb::Id id) override;

 private:
  explicit DatabaseNoteStore(mockdb::DatabaseService& db) : db_(db) {}
  mockdb::DatabaseService& db_;
};

/// The bridge for synchronous code: the same operations as NoteStore, each
/// run on `loop` (an io_context that some thread runs) while the calling
/// thread waits for the result, and a store failure rethrown to the caller.
/// The store belongs to the loop's thread: the test checks that every store
/// operation the bridge starts runs there, never on the calling thread. Only
/// a thread that does not run `loop` may call it: a thread that runs the loop
/// would wait for work that only it can do, so there each function throws
/// std::logic_error before it starts anything. Defined in the exercise file,
/// note_pages.cpp.
class BlockingNoteStore {
 public:
  BlockingNoteStore(boost::asio::io_context::executor_type loop, NoteStore& store)
      : loop_(std::move(loop)), store_(store) {}

  /// NoteStore::find(), waited for on the calling thread.
  std::optional<Note> find(mockdb::Id id);
  /// NoteStore::log_view(), waited for on the calling thread.
  void log_view(mockdb::Id id);

 private:
  boost::asio::io_context::executor_type loop_;
  NoteStore& store_;
};

/// While it lives, a thread waiting in the bridge: a pending span in
/// bridge_trace(), so a watchdog's deadlock report says who waits for what.
class BlockedThread {
 public:
  /// `what`: the call being waited for, as "find(note 3)".
  explicit BlockedThread(std::string what);
  ~BlockedThread();
  BlockedThread(const BlockedThread&) = delete;
  BlockedThread& operator=(const BlockedThread&) = delete;

 private:
  std::uint64_t span_;
};

/// The trace of threads waiting in the bridge (named "sync bridge").
workbook::Trace& bridge_trace();

/// What a request may use.
struct Services {
  NoteStore& store;           ///< The asynchronous interface.
  BlockingNoteStore& legacy;  ///< The bridge the old synchronous code uses.
};

/// The request handler: the page of note `id` (its view logged before the
/// page is returned), or the not-found page. Errors of the store propagate
/// (a failed read and a failed view log alike). Runs on the event loop,
/// concurrently with every other request, over `services.store` only: the
/// bridge is for code on other threads, not for a request.
boost::asio::awaitable<std::string> show_note(Services& services, mockdb::Id id);

// ---- provided: the page templates and the old synchronous renderer (support.cpp) ----

/// The page of `note`.
std::string note_page(const Note& note);
/// The page for a note that does not exist.
std::string not_found_page(mockdb::Id id);

/// The renderer as it was before the move to coroutines: synchronous, over
/// the bridge. The same result as show_note(), for code on other threads.
std::string render_note_page(BlockingNoteStore& store, mockdb::Id id);

/// Adds notes 1..count (title "note i", body "text of note i") to `db`.
boost::asio::awaitable<void> add_notes(mockdb::DatabaseService& db, int count);

}  // namespace ch02
