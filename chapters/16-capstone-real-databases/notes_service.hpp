// Chapter 16 — the capstone: one notes service built from the workbook's patterns.
//
// NotesService reads notes through any mockdb::DatabaseService: the mock in the
// tests and the demo, SQLite or PostgreSQL through open_backend(). It uses nothing but the
// interface (rows are JSON objects, queries are the subset of query.hpp), so it runs unchanged on
// each. Every database operation it makes has a deadline (chapter 05), is retried with a capped,
// jittered exponential backoff when its error is transient and never when it is permanent (chapter
// 06), and fails with an error that names what was being done (chapter 10); a batch runs at most
// `max_in_flight` reads at once (chapter 12); an export streams keyset pages (chapter 09); a
// caller's cancellation reaches every operation (chapter 11); and the service's own counters are
// guarded by a mutex never held across co_await (chapter 07).
//
// The pitfall (chapters/) and the fix (solutions/) define the service in
// notes_service.cpp; this header is their shared interface.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mockdb/database.hpp"
#include "workbook/clock.hpp"

namespace ch16 {

/// The table the service keeps its notes in: {"owner": int, "title": string}.
inline constexpr const char* kNotesTable = "notes";

/// How the service treats the database. The defaults suit the mock's latencies.
struct Policy {
  /// The deadline of one attempt of one operation, counted from that attempt's
  /// start (a read that waited for its turn in a batch has the whole of it).
  workbook::Clock::duration timeout = std::chrono::milliseconds(50);
  /// At most this many attempts of one operation, the first included, whatever
  /// transient errors they met (timeouts and the others share this one budget).
  /// The failure of the last attempt is thrown at once, with no wait.
  int max_attempts = 5;
  /// The backoff: after the k-th failed attempt of an operation (k = 1, 2, ...)
  /// it waits a time drawn uniformly from [c/2, c], c = min(backoff_base x
  /// 2^(k-1), backoff_cap). k counts this operation's own attempts: each
  /// operation starts again from backoff_base, whatever others did before.
  workbook::Clock::duration backoff_base = std::chrono::milliseconds(2);
  /// The longest wait between two attempts.
  workbook::Clock::duration backoff_cap = std::chrono::milliseconds(16);
  /// Seeds the service's own generator of the jitter, so that a run repeats:
  /// two services with the same policy that meet the same failures wait the
  /// same times; another seed, other times.
  std::uint64_t seed = 16;
  /// At most this many reads of one batch at once.
  std::size_t max_in_flight = 4;
  /// Rows per page of an export.
  std::size_t page_size = 20;
};

/// What the service counted.
struct ServiceStats {
  std::uint64_t attempts = 0;  ///< Database operations started, retries included.
  std::uint64_t retries = 0;   ///< Attempts after a transient failure (max_attempts - 1 for an
                               ///< operation that spent its budget: a failure that ends an
                               ///< operation counts no retry).
  std::uint64_t timeouts = 0;  ///< Attempts abandoned at their deadline.
};

/// Called with each note of an export, in id order; returns false to stop.
using NoteSink = std::function<bool(const mockdb::Row&)>;

/// The notes service. Borrows `db`, which must outlive it.
class NotesService {
 public:
  /// A service on `db`, treating it as `policy` says.
  explicit NotesService(mockdb::DatabaseService& db, Policy policy = {});
  ~NotesService();
  NotesService(const NotesService&) = delete;
  NotesService& operator=(const NotesService&) = delete;

  /// Adds a note for `owner` and returns its id. One attempt, with the
  /// deadline Policy::timeout (a create that does not answer in time fails
  /// with ErrorClass::timed_out), never retried, whatever its error: a create
  /// whose reply was lost may have happened, and a retry would write it twice.
  [[nodiscard]] boost::asio::awaitable<mockdb::Id> create_note(std::int64_t owner,
                                                               std::string title);

  /// Note `id`, or std::nullopt if there is none. A failure is thrown as a
  /// boost::system::system_error whose code is the database's and whose text
  /// begins "reading note <id>" (what() starts with it), with the database's
  /// own error (a mockdb::DatabaseError and its diagnostics) nested in it by
  /// std::throw_with_nested.
  [[nodiscard]] boost::asio::awaitable<std::optional<mockdb::Row>> read_note(mockdb::Id id);

  /// Every note of `ids`, in the order of `ids`, with at most
  /// Policy::max_in_flight reads at once, and that many for as long as ids
  /// wait: a failed read does not stop the others. When reads fail, the
  /// failure of the first failed id in the order of `ids` (not the first in
  /// time) is thrown once every read has ended. Cancelling the caller cancels
  /// every read, and the batch then throws operation_aborted.
  [[nodiscard]] boost::asio::awaitable<std::vector<std::optional<mockdb::Row>>> read_notes(
      std::vector<mockdb::Id> ids);

  /// Hands each note of `owner`, once, to `sink` in id order, and returns how
  /// many it handed over. Each query asks for the next Policy::page_size notes
  /// of `owner` (filtered by the query, not the client) after the last id
  /// handed over, ORDER BY id: without it a database promises no order.
  /// Cancelling the caller cancels the query in flight, and the export then
  /// throws operation_aborted rather than return as if it had finished.
  [[nodiscard]] boost::asio::awaitable<std::size_t> export_notes(std::int64_t owner, NoteSink sink);

  /// A snapshot of the counters.
  ServiceStats stats() const;

  /// The service's state: its counters and their mutex. Defined by each
  /// variant, privately; public only so that its helper functions can name it.
  struct State;

 private:
  mockdb::DatabaseService& db_;
  Policy policy_;
  std::unique_ptr<State> state_;
};

// ---- provided (support.cpp) ----

/// The mutex that guards the service's counters: a std::mutex, instrumented
/// for this chapter. On an event loop the thread that holds a mutex asks for
/// it again only when a coroutine holding it is suspended and another
/// coroutine of the same thread wants it: with a std::mutex that is a
/// deadlock (chapter 07). This one counts it instead, says so on stderr once,
/// and lets the second coroutine in, so that the chapter's other tests still
/// run and report their own pitfalls. Safe on several threads.
class CheckedMutex {
 public:
  /// Takes the mutex (see the class comment for a thread that holds it).
  void lock();
  /// Gives it back.
  void unlock();

  /// How many times, in this process so far, a thread asked for a
  /// CheckedMutex that it held already.
  static std::size_t held_across_co_await() noexcept;

 private:
  std::mutex mutex_;
  std::condition_variable free_;
  std::thread::id owner_;
  std::size_t depth_ = 0;
};

/// Adds `per_owner` notes for each owner 1..`owners`, interleaved (owner 1,
/// 2, ..., then again), titled "note <id>".
boost::asio::awaitable<void> add_sample_notes(mockdb::DatabaseService& db, int owners,
                                              int per_owner);

/// What open_backend() may set up; a real backend ignores what it cannot do.
struct BackendOptions {
  /// The mock's latency for every operation but connect (a real database has its own).
  workbook::Clock::duration latency{};
};

/// The names open_backend() knows.
std::vector<std::string_view> known_backends();

/// Opens the backend called `name` ("mock", and "sqlite" and "postgres" where
/// this build has them: see known_backends()) for coroutines on `executor`.
/// An unknown name throws std::invalid_argument listing the known ones; a
/// backend that cannot run here throws workbook::BackendUnavailable.
std::unique_ptr<mockdb::DatabaseService> open_backend(std::string_view name,
                                                      const boost::asio::any_io_executor& executor,
                                                      const BackendOptions& options = {});

}  // namespace ch16
