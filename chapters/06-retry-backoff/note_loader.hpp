// Chapter 06 — retry with backoff.
//
// The notes app loads a note from a database that is sometimes down for a
// moment (a restart, a failover): load_note() retries a read that failed for a
// reason that may go away. How it retries is the lesson: how often, how long
// it waits in between, which errors it retries at all, and when it gives up.
// The pitfall (chapters/) and the fix (solutions/) define load_note() in
// note_loader.cpp; this header is their shared interface, and support.cpp
// provides read_by(), one attempt that ends by a deadline.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>

#include "mockdb/database.hpp"
#include "workbook/clock.hpp"

namespace ch06 {

/// The table the notes live in.
inline constexpr const char* kNotesTable = "notes";

/// How load_note() retries. Every field is the caller's to choose; the
/// defaults suit a database that fails over in tens of milliseconds.
struct RetryPolicy {
  /// Attempts in all, the first one included (so 1 means "never retry").
  int max_attempts = 8;
  /// The wait before the first retry; each later wait may double, up to `cap`.
  workbook::Clock::duration base = std::chrono::milliseconds(2);
  /// No single wait is longer than this.
  workbook::Clock::duration cap = std::chrono::milliseconds(100);
  /// The whole call, attempts and waits together, ends by this long after it
  /// started: the caller always has an answer in bounded time.
  workbook::Clock::duration deadline = std::chrono::seconds(1);
  /// Seeds the random part of the waits (the jitter), so a run repeats.
  /// Clients that share a database should not share a seed: equal seeds draw
  /// equal waits, and their retries arrive together again.
  std::uint64_t seed = 1;
};

/// Reads note `id` from `db`. A read that fails with a transient error
/// (mockdb::is_transient: the connection failed, too many connections, the
/// database unavailable, a timeout) is retried as `policy` says; any other
/// error can never succeed by trying again and is thrown at once.
///
/// Returns the note, or std::nullopt if there is no such note (an answer, not
/// a failure: it is not retried). Throws mockdb::DatabaseError: the error
/// itself if it is not transient, the last error when `policy.max_attempts`
/// attempts have failed, or Errc::timed_out (ErrorClass::timed_out) by
/// `policy.deadline`: when it has passed, or sooner, once the next attempt
/// could not begin before it (throwing early is allowed, not required). No
/// read it started is still running when it returns or throws.
boost::asio::awaitable<std::optional<mockdb::Row>> load_note(mockdb::DatabaseService& db,
                                                             mockdb::Id id, RetryPolicy policy);

// ---- provided (support.cpp) ----

/// One attempt: reads note `id`, and if `deadline` comes first, cancels the
/// read (it has ended when this returns) and throws mockdb::DatabaseError with
/// Errc::timed_out. Otherwise returns or throws what the read did.
boost::asio::awaitable<std::optional<mockdb::Row>> read_by(mockdb::DatabaseService& db,
                                                           mockdb::Id id,
                                                           workbook::Clock::time_point deadline);

/// Adds `count` notes titled "note 1", "note 2", ... (ids 1 to `count`).
boost::asio::awaitable<void> add_sample_notes(mockdb::DatabaseService& db, int count);

}  // namespace ch06
