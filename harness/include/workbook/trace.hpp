// A trace of database operations: what ran, on which key, from when to when,
// and how it ended. The mock database writes one span per operation; tests
// assert on the spans, and demos draw them as a timeline.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "workbook/clock.hpp"

namespace workbook {

/// How an operation ended.
enum class Outcome {
  pending,    ///< Still in flight.
  ok,         ///< Completed successfully.
  failed,     ///< Completed with an error.
  cancelled,  ///< Cancelled before it completed (operation_aborted).
};

/// A short word for an outcome: "pending", "ok", "failed", "cancelled".
const char* to_string(Outcome o) noexcept;

/// How a span relates to others, given when it begins (queued may be set
/// later, by Trace::set_queued). All optional.
struct SpanLinks {
  std::uint64_t parent = 0;      ///< The span (in the same trace) this is part of; 0 for none.
  std::uint32_t attempt = 0;     ///< 1 for a first try, 2 for the first retry...; 0 if not a retry.
  std::uint64_t connection = 0;  ///< The connection it ran on; 0 if none or unknown.
  /// How long, from its start, it waited (for a connection, a permit, a free
  /// place on a busy database) before its work began; timelines draw that
  /// part of the span apart.
  Clock::duration queued{};
};

/// One traced operation.
struct Span {
  std::uint64_t id = 0;                  ///< Unique within its trace, in start order.
  std::string operation;                 ///< "read", "query", "connect", or a label.
  std::string key;                       ///< What it touched: "notes/42", the SQL text.
  Clock::time_point start{};             ///< When it started.
  std::optional<Clock::time_point> end;  ///< When it ended; empty while pending.
  Outcome outcome = Outcome::pending;    ///< How it ended.
  std::string detail;                    ///< The error message for failed spans.
  std::string cancel_reason;             ///< Why, for cancelled spans.
  SpanLinks links;                       ///< Parent, attempt, connection, time queued.

  /// end - start, or now - start while pending.
  Clock::duration duration() const noexcept;
};

/// A thread-safe list of spans, bounded: past its capacity it forgets its
/// oldest ended spans (pending spans are always kept), and counts them.
///
/// Every live trace is known to the harness, so that a run that never completes
/// or a watchdog that fires can say which operations were still pending.
class Trace {
 public:
  /// `name` says whose trace this is in reports ("mock database").
  explicit Trace(std::string name = "trace");
  ~Trace();
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;

  /// The capacity of a new trace, in spans.
  static constexpr std::size_t kDefaultCapacity = 100'000;

  /// Opens a span that starts now; returns its id.
  std::uint64_t begin(std::string operation, std::string key, SpanLinks links = {});

  /// Closes span `id` now with `outcome` and a text: the error for a failed
  /// span, the reason for a cancelled one (kept as its cancel_reason).
  void end(std::uint64_t id, Outcome outcome, std::string detail = {});

  /// Records that span `id` spent its first `waited` queued (SpanLinks::queued).
  void set_queued(std::uint64_t id, Clock::duration waited);

  /// Keeps at most `spans` spans (at least 1), forgetting the oldest ended ones.
  void set_capacity(std::size_t spans);

  /// How many ended spans were forgotten to stay within the capacity.
  std::uint64_t dropped() const;

  /// A copy of every span, in start order.
  std::vector<Span> spans() const;

  /// A copy of the spans still pending.
  std::vector<Span> pending() const;

  /// Removes every span.
  void clear();

  /// Stops (false) or resumes (true) recording; begin() returns 0 when stopped.
  void set_enabled(bool enabled) noexcept;

  /// True while recording (callers may skip building span texts otherwise).
  bool enabled() const noexcept { return enabled_.load(std::memory_order_relaxed); }

  /// This trace's name.
  const std::string& name() const noexcept { return name_; }

  /// One line per pending span of every live trace ("read notes/42, pending
  /// since t=3 ms"), or "none" if nothing is pending.
  static std::string describe_all_pending();

 private:
  std::string name_;
  mutable std::mutex mutex_;
  std::deque<Span> spans_;
  std::size_t capacity_ = kDefaultCapacity;
  std::uint64_t dropped_ = 0;
  std::uint64_t next_id_ = 1;
  std::atomic<bool> enabled_{true};
};

}  // namespace workbook
