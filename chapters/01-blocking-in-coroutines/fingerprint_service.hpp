// Chapter 01 — blocking in coroutines.
//
// A small service computes a fingerprint of the file attached to a note: it
// reads the note from the database, waits out the storage backend's pacing
// delay, loads the attachment from disk and hashes it. Many requests share one
// event-loop thread. The pitfall (chapters/) and the fix (solutions/) define
// fingerprint_note() in a file of the same name; this header is their shared
// interface.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mockdb/database.hpp"
#include "workbook/clock.hpp"
#include "workbook/offload.hpp"

namespace ch01 {

/// How long the storage backend asks clients to wait between requests.
inline constexpr workbook::Clock::duration kStoragePacing = std::chrono::milliseconds(30);

/// What a request may use.
struct Services {
  mockdb::DatabaseService& db;        ///< Notes live in table "notes".
  workbook::BlockingPool& blocking;   ///< Threads for work that would block.
  std::filesystem::path attachments;  ///< Where attachment files are stored.
};

/// The fingerprint (16 hex digits) of the file attached to note `note_id`.
/// Throws std::runtime_error if there is no such note.
boost::asio::awaitable<std::string> fingerprint_note(Services& services, mockdb::Id note_id);

// ---- provided: the blocking building blocks (attachments.cpp) ----

/// Reads a whole file. Blocking I/O: it holds the calling thread until done.
std::string read_attachment(const std::filesystem::path& file);

/// A deliberately expensive hash of `bytes` (several milliseconds of CPU).
std::string fingerprint(const std::string& bytes);

/// One call of read_attachment() or fingerprint(), and the thread it ran on.
struct BlockingCall {
  std::string_view function;  ///< "read_attachment()" or "fingerprint()".
  std::thread::id thread;     ///< The thread that ran it.
};

/// While one exists, every call of read_attachment() and fingerprint() is
/// recorded with the thread it ran on: the chapter's test checks where the
/// blocking work ran. Only one may exist at a time (std::logic_error).
class BlockingCallLog {
 public:
  BlockingCallLog();
  ~BlockingCallLog();
  BlockingCallLog(const BlockingCallLog&) = delete;
  BlockingCallLog& operator=(const BlockingCallLog&) = delete;

  /// The calls recorded so far, in the order they began.
  std::vector<BlockingCall> calls() const;
};

/// Sample attachments in a fresh temporary directory, removed on destruction.
class SampleAttachments {
 public:
  /// Writes `count` files of `size` bytes with deterministic content.
  explicit SampleAttachments(int count, std::size_t size = std::size_t{256} * 1024);
  ~SampleAttachments();
  SampleAttachments(const SampleAttachments&) = delete;
  SampleAttachments& operator=(const SampleAttachments&) = delete;

  /// The directory holding the files.
  const std::filesystem::path& directory() const noexcept { return directory_; }
  /// The name of file `i` (0-based).
  static std::string file_name(int i);
  /// Adds one note per file to `db` (table "notes", field "attachment").
  boost::asio::awaitable<void> add_notes(mockdb::DatabaseService& db) const;

 private:
  std::filesystem::path directory_;
  int count_;
};

}  // namespace ch01
