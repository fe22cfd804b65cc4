// Chapter 08 — thread safety and lifetimes.
//
// A view counter for notes, shared by every request of a server whose
// io_context runs on several threads. record_view() counts one view of a note
// in an in-memory cache, loading the note's stored count from the database the
// first time; record_in_background() counts a view and logs who read the note,
// without making the caller wait. The pitfall (chapters/) and the fix
// (solutions/) define both in view_counter.cpp; this header is their shared
// interface.
//
// Two instruments make the bugs visible without a sanitizer: ViewCache counts
// calls that overlap on two threads, and PageView counts reads of a PageView
// that was already destroyed and the copies still alive. The test reads both
// through their own static functions, not through ViewCounter: it checks the
// counts in every live ViewCache, and the counts record_view() returns. A
// counter may keep its counts elsewhere (a map behind a mutex, say) and leave
// the ViewCache unused; a ViewCache it does use must hold the right counts.
// spawn_owned() shows what the compiler can still check.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "mockdb/database.hpp"

namespace ch08 {

/// The cache of view counts: a plain table, as unsynchronised as the
/// std::unordered_map it stands for. Only one thread may use it at a time.
///
/// It checks that, as Go's runtime checks its maps: a call that starts while
/// a call on another thread is still inside counts an overlap. To make an
/// unsynchronised use certain to show on a multi-threaded loop, each put()
/// waits a twentieth of `overlap_probe` (real time) for a call on the same
/// note from another thread to overlap it, until one has or the waits add up
/// to `overlap_probe`: a cache behind a strand or a mutex spends that budget
/// in vain. Its own counters are relaxed
/// atomics, so they order nothing: ThreadSanitizer still sees every race on the counts.
class ViewCache {
 public:
  /// A cache for notes 1 .. notes.
  explicit ViewCache(std::size_t notes, std::chrono::milliseconds overlap_probe = {});
  ViewCache(const ViewCache&) = delete;
  ViewCache& operator=(const ViewCache&) = delete;
  ViewCache(ViewCache&&) = delete;
  ViewCache& operator=(ViewCache&&) = delete;
  ~ViewCache();

  /// The cached count of `note`, if it is cached.
  [[nodiscard]] std::optional<std::int64_t> find(mockdb::Id note) const;
  /// Caches `views` as the count of `note`.
  void put(mockdb::Id note, std::int64_t views);
  /// Calls that began while a call on another thread was inside.
  [[nodiscard]] std::int64_t overlaps() const noexcept {
    return overlaps_.load(std::memory_order_relaxed);
  }

  /// For the test, which reads the caches without asking the counter: the
  /// overlaps counted by every ViewCache since the program started, and the
  /// count of `note` in each live ViewCache that has it cached. Call
  /// cached_everywhere() while no thread uses a cache.
  [[nodiscard]] static std::int64_t overlaps_everywhere() noexcept;
  [[nodiscard]] static std::vector<std::int64_t> cached_everywhere(mockdb::Id note);

 private:
  class Visit;
  [[nodiscard]] std::size_t slot(mockdb::Id note) const;
  void probe(mockdb::Id note);

  std::vector<std::int64_t> views_;  // -1: not cached
  mutable std::atomic<int> inside_{0};
  mutable std::atomic<std::int64_t> overlaps_{0};
  std::atomic<std::int64_t> probe_left_us_;
  std::atomic<mockdb::Id> probed_note_{0};  // the note a put() waits on, 0 if none
  mutable std::atomic<std::int64_t> probe_hits_{0};
  std::chrono::milliseconds overlap_probe_;
};

/// One request to read a note: which note, and who reads it (a name long
/// enough to live on the heap, as most do).
///
/// The instrument: every PageView alive is registered, and its accessors check
/// that the object they are called on is one. A read of a destroyed PageView is
/// counted (reads_after_destruction()); in a build without AddressSanitizer it
/// answers note 0 and reader "<destroyed PageView>" instead of reading freed
/// memory (which would print garbage or crash, at random), and in a build with
/// AddressSanitizer it reads the freed memory, so that ASan reports it. The
/// destructor overwrites the reader's characters with '#' before freeing them.
class PageView {
 public:
  PageView(mockdb::Id note, std::string reader);
  PageView(const PageView& other);
  PageView(PageView&& other) noexcept;
  PageView& operator=(const PageView& other);
  PageView& operator=(PageView&& other) noexcept;
  ~PageView();

  [[nodiscard]] mockdb::Id note() const;
  [[nodiscard]] const std::string& reader() const;

  /// Reads of a destroyed PageView since the program started, every thread.
  [[nodiscard]] static std::int64_t reads_after_destruction() noexcept;
  /// PageViews alive now (constructed and not yet destroyed), every thread.
  [[nodiscard]] static std::size_t alive_count();

 private:
  [[nodiscard]] bool alive() const;

  mockdb::Id note_;
  std::string reader_;
};

/// Counts views of notes 1 .. notes, in a cache shared by every thread that
/// runs the io_context. Copying a ViewCounter is not allowed; the tasks it
/// starts may outlive it.
class ViewCounter {
 public:
  /// `executor` is the io_context's: record_in_background() starts its tasks
  /// there. `overlap_probe` is the cache's (see ViewCache).
  ViewCounter(mockdb::DatabaseService& db, const boost::asio::any_io_executor& executor,
              std::size_t notes, std::chrono::milliseconds overlap_probe = {});
  ViewCounter(const ViewCounter&) = delete;
  ViewCounter& operator=(const ViewCounter&) = delete;
  ViewCounter(ViewCounter&&) = delete;
  ViewCounter& operator=(ViewCounter&&) = delete;
  ~ViewCounter();

  /// Counts one view of `note` and returns its new count: the count stored in
  /// table "notes" (field "views", 0 if the row has none) when the note was
  /// first cached, plus every view counted since. Any number of calls may run
  /// at once, on any thread of the io_context.
  boost::asio::awaitable<std::int64_t> record_view(mockdb::Id note);

  /// Counts a view of view.note() and logs it (a row of table "view_log" with
  /// fields "note" and "reader"), later: returns at once. The caller's PageView
  /// may be destroyed as soon as this returns, and so may this ViewCounter.
  void record_in_background(const PageView& view);

  /// The count of `note` (0 if it has none yet): the cache's, or wherever the
  /// counter keeps its counts. Call it while no record_view() runs.
  [[nodiscard]] std::int64_t cached_views(mockdb::Id note) const;
  /// Calls to the cache that overlapped (see ViewCache::overlaps()), for the
  /// demo and the benchmark; the test reads ViewCache::overlaps_everywhere().
  [[nodiscard]] std::int64_t cache_overlaps() const;

  /// What the counter and its tasks share: each variant's own, defined in
  /// view_counter.cpp.
  struct State;

 private:
  std::shared_ptr<State> state_;
};

/// Types that borrow what they point to: a coroutine that holds one does not
/// keep its target alive.
template <typename T>
inline constexpr bool kBorrows =
    std::is_reference_v<T> || std::is_pointer_v<std::remove_cvref_t<T>> ||
    std::is_same_v<std::remove_cvref_t<T>, std::string_view>;
template <typename T, std::size_t N>
inline constexpr bool kBorrows<std::span<T, N>> = true;

/// Starts `coroutine(args...)` detached on `executor`, and refuses to compile
/// if the coroutine borrows: a parameter that is a reference, a pointer, a
/// std::string_view or a std::span. A detached coroutine outlives the caller's
/// statement, so everything it uses must live in its frame. Rust checks this
/// for every task (tokio::spawn requires 'static); C++ checks it only where a
/// helper like this one asks.
template <typename Result, typename... Params, typename... Args>
void spawn_owned(const boost::asio::any_io_executor& executor,
                 boost::asio::awaitable<Result> (*coroutine)(Params...), Args&&... args) {
  static_assert((!kBorrows<Params> && ...),
                "spawn_owned: the coroutine borrows (a reference, pointer, string_view or "
                "span parameter); take it by value, so that its frame owns it");
  boost::asio::co_spawn(executor, coroutine(std::forward<Args>(args)...), boost::asio::detached);
}

}  // namespace ch08
