// Chapter 14 — avoiding copies.
//
// A report service handles report rows with a large body (kilobytes to
// megabytes). publish() passes a row down through layers of coroutines and
// archives a summary of it; broadcast() sends one row to many subscribers at
// once on an io_context that may run on several threads. The pitfall
// (chapters/) and the fix (solutions/) define both in report_service.cpp; this
// header is their shared interface, and ReportRow is the instrument the test,
// the demo and the benchmark read: it counts its own copies, moves and buffer
// allocations.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "mockdb/database.hpp"
#include "workbook/clock.hpp"

namespace ch14 {

/// What a CopyCounter has seen, at one moment.
struct CopyCounts {
  std::int64_t copies = 0;        ///< Deep copies of a row (constructor or assignment).
  std::int64_t moves = 0;         ///< Moves of a row (constructor or assignment).
  std::int64_t allocations = 0;   ///< Body buffers allocated: one per new row, one per copy.
  std::int64_t bytes_copied = 0;  ///< Body bytes copied by those copies.
  /// The most std::shared_ptr owners a shared row had while one of its chunks
  /// was read (0 if no row read was owned by a shared_ptr).
  long peak_shared_owners = 0;
};

/// Counts what happens to the rows made with it. Thread-safe: rows may be
/// copied on any thread of a multi-threaded io_context.
class CopyCounter {
 public:
  void record_copy(std::size_t bytes) noexcept;
  void record_move() noexcept { moves_.fetch_add(1, std::memory_order_relaxed); }
  void record_allocation() noexcept { allocations_.fetch_add(1, std::memory_order_relaxed); }
  void record_shared_owners(long owners) noexcept;
  /// Whether chunk() records shared owners (on by default). Reading them costs
  /// an atomic increment and decrement of the row's weak count per chunk, on
  /// the control block every thread shares: the benchmark turns it off so that
  /// it measures the code, not the instrument.
  void watch_shared_owners(bool on) noexcept { watch_owners_.store(on, std::memory_order_relaxed); }
  [[nodiscard]] bool watching_shared_owners() const noexcept {
    return watch_owners_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] CopyCounts counts() const noexcept;

 private:
  std::atomic<std::int64_t> copies_{0};
  std::atomic<std::int64_t> moves_{0};
  std::atomic<std::int64_t> allocations_{0};
  std::atomic<std::int64_t> bytes_copied_{0};
  std::atomic<long> peak_shared_owners_{0};
  std::atomic<bool> watch_owners_{true};
};

/// One report row: an id, a stamp saying which layer handled it last, and a
/// large body. Copying it copies the whole body (one allocation and `size()`
/// bytes); moving it moves a pointer. A moved-from row has an empty body.
/// When a std::shared_ptr owns it, chunk() records how many owners it has at
/// that moment (enable_shared_from_this lets it see them): each is a
/// shared_ptr copy somewhere, alive across a suspension.
class ReportRow : public std::enable_shared_from_this<ReportRow> {
 public:
  /// A row whose body is `bytes` bytes of deterministic content (one allocation).
  ReportRow(mockdb::Id id, std::size_t bytes, CopyCounter& counter);
  ReportRow(const ReportRow& other);
  ReportRow(ReportRow&& other) noexcept;
  ReportRow& operator=(const ReportRow& other);
  ReportRow& operator=(ReportRow&& other) noexcept;
  ~ReportRow() = default;

  [[nodiscard]] mockdb::Id id() const noexcept { return id_; }
  [[nodiscard]] std::size_t size() const noexcept { return body_.size(); }
  /// The whole body. Records the row's shared owners in its counter, as
  /// chunk() does: reading the bytes through body() instead of chunk() hides
  /// no shared_ptr copy.
  [[nodiscard]] std::span<const char> body() const noexcept;
  /// `length` bytes of the body from `offset` (fewer at the end). Records the
  /// row's shared owners in its counter (see CopyCounts::peak_shared_owners).
  [[nodiscard]] std::span<const char> chunk(std::size_t offset, std::size_t length) const noexcept;
  [[nodiscard]] const std::string& stamp() const noexcept { return stamp_; }
  void set_stamp(std::string stamp) { stamp_ = std::move(stamp); }

 private:
  mockdb::Id id_;
  std::string stamp_;
  std::vector<char> body_;
  CopyCounter* counter_;
};

/// A checksum of a body (FNV-1a on 64-bit words), computable chunk by chunk:
/// checksum(b, checksum(a)) == checksum(a + b) when a.size() is a multiple of 8.
[[nodiscard]] std::uint64_t checksum(std::span<const char> bytes,
                                     std::uint64_t running = 14695981039346656037ULL) noexcept;

/// Where broadcast() delivers: one queue per subscriber. Thread-safe.
///
/// It also records what the test checks about the sends themselves: where the
/// chunks' bytes were (inside the row's own body, or in a copy of it), how
/// many sends overlapped (a subscriber's queue is one stream, like a socket:
/// one write at a time; different subscribers' sends may overlap), and when
/// each subscriber's last send ended.
class Outbox {
 public:
  /// An outbox for subscribers 0 .. subscribers-1. Each send takes
  /// `send_latency` on the workbook clock (a virtual-time wait in the test), or
  /// only a yield to the event loop if it is zero.
  explicit Outbox(int subscribers, workbook::Clock::duration send_latency = {});
  /// Gives one subscriber sends of another latency (a slower or faster link).
  /// Call it before any send.
  void set_send_latency(int subscriber, workbook::Clock::duration latency);

  /// Sends `chunk` to `subscriber`: waits as a network write would (see the
  /// constructor), then records the bytes. The chunk must stay valid until the
  /// send completes. Throws std::out_of_range for a subscriber it does not have.
  boost::asio::awaitable<void> send(int subscriber, std::span<const char> chunk);

  /// What one subscriber has received so far.
  struct Received {
    std::size_t bytes = 0;
    std::uint64_t checksum = 14695981039346656037ULL;
    std::size_t chunks = 0;
    /// The most sends to this subscriber in flight at the same moment.
    std::size_t most_sends_at_once = 0;
    /// The lowest address and the end of the highest of the non-empty chunks
    /// sent (null if none): the range of memory the chunks were read from.
    const char* lowest = nullptr;
    const char* highest_end = nullptr;
    /// When the last send to this subscriber completed (workbook clock).
    workbook::Clock::time_point last_send_ended{};
  };
  [[nodiscard]] Received received(int subscriber) const;
  [[nodiscard]] int subscribers() const noexcept { return static_cast<int>(received_.size()); }
  /// The most sends in flight at the same moment, all subscribers together.
  [[nodiscard]] std::size_t most_sends_at_once() const;

 private:
  void finish(std::size_t subscriber, std::span<const char> chunk);

  mutable std::mutex mutex_;
  std::vector<Received> received_;
  std::vector<std::size_t> in_flight_;
  std::size_t in_flight_total_ = 0;
  std::size_t most_at_once_ = 0;
  std::vector<workbook::Clock::duration> send_latency_;  // per subscriber
};

/// What a request may use.
struct Services {
  mockdb::DatabaseService& db;  ///< publish() archives summaries in table "archive".
  Outbox& outbox;               ///< broadcast() sends here.
};

/// broadcast() sends a row in chunks of this size.
inline constexpr std::size_t kChunkBytes = 4096;

/// Publishes one report: the render layer stamps it "rendered", the archive
/// layer stores a summary in table "archive" (fields "report", "bytes",
/// "checksum", "stamp") and returns the new archive row's id.
boost::asio::awaitable<mockdb::Id> publish(Services& services, ReportRow report);

/// Sends the whole body of `report` to subscribers 0 .. subscribers-1 at once,
/// in chunks of kChunkBytes (the last one shorter), each subscriber's chunks
/// one after another, and returns when every subscriber has it all; throws
/// the exception a failed delivery threw (that very exception, not a new one;
/// if several fail, one of theirs: the fix throws the lowest subscriber's, a
/// join in completion order the first to fail), once every delivery has
/// ended: the others still send the whole row. A row without a body sends no
/// chunk at all. The io_context may run on several threads.
boost::asio::awaitable<void> broadcast(Services& services, ReportRow report, int subscribers);

}  // namespace ch14
