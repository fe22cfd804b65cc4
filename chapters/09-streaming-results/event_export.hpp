// Chapter 09 — streaming results.
//
// The payments app exports its event log (the table "events": one row per
// payment, with an amount and a kind) to an auditor, row by row. The table
// grows without bound, so the export must not hold it in memory, and it reads
// the table a page at a time. The pitfall (chapters/) and the fix (solutions/)
// define next_page() and for_each_event() in a file of the same name; this
// header is their shared interface, and events.cpp the provided parts.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mockdb/database.hpp"
#include "mockdb/row.hpp"

namespace ch09 {

/// The table the events live in.
inline constexpr const char* kEventsTable = "events";

/// A token that counts how many Events are in memory, and the most that ever
/// were at once. Every Event holds one, privately, so a test can see how many
/// Events the export holds without trusting the code under test to say so.
/// Every Event object counts from construction to destruction: a copy, a
/// moved-to Event and the moved-from shell a move leaves behind (id 0,
/// amount 0, empty kind) alike, so no Event can hold a row uncounted. What it
/// cannot see: a row's data copied out of an Event into something else.
class ResidentRow {
 public:
  ResidentRow() noexcept;
  ResidentRow(const ResidentRow& other) noexcept;
  ResidentRow(ResidentRow&& other) noexcept;
  // An assignment changes no object's existence, so it leaves the count alone.
  ResidentRow& operator=(const ResidentRow& other) noexcept = default;
  ResidentRow& operator=(ResidentRow&& other) noexcept = default;
  ~ResidentRow();

  /// Events in memory now.
  static std::size_t live() noexcept;
  /// The most Events in memory at once since the last reset_peak().
  static std::size_t peak() noexcept;
  /// Starts a new peak from the number in memory now.
  static void reset_peak() noexcept;
};

/// One row of the events table, as the export holds it.
struct Event {
  /// The event a row of the events table holds.
  explicit Event(const mockdb::Row& row);
  Event(const Event& other) = default;
  /// Takes the row over: `other` is left empty (id 0, amount 0, no kind).
  Event(Event&& other) noexcept;
  Event& operator=(const Event& other) = default;
  /// Takes the row over: `other` is left empty (id 0, amount 0, no kind).
  Event& operator=(Event&& other) noexcept;
  ~Event() = default;

  mockdb::Id id = 0;        ///< The row's primary key.
  std::int64_t amount = 0;  ///< In cents.
  std::string kind;         ///< "card", "transfer", ...

 private:
  // Counts this Event while it is in memory. Private, so that no code but
  // Event's own can touch it.
  ResidentRow resident_;
};

/// A page of events, in id order.
using Page = std::vector<Event>;

/// Where a stream of pages stands. Start with a default Cursor.
struct Cursor {
  mockdb::Id last_id = 0;       ///< The id of the last row handed out; 0 before the first page.
  std::uint64_t rows_read = 0;  ///< How many rows have been handed out.
  bool done = false;            ///< True once there are no more rows to read.
};

/// The next page of at most `page_size` events after `cursor`, in id order,
/// with one query; an empty page once the table is exhausted (and then
/// cursor.done is true). Each row of the table is handed out exactly once
/// over a stream, including when rows were deleted before (ids have gaps).
/// The query names its values as parameters ($1, $2), never formats them into
/// the SQL text, and says ORDER BY (a real database promises no order without
/// it). A database error propagates (a mockdb::DatabaseError), and the cursor
/// is left where it was, so the caller may retry the page. A page_size of 0
/// throws std::invalid_argument (pages of nothing would never reach the end).
boost::asio::awaitable<Page> next_page(mockdb::DatabaseService& db, Cursor& cursor,
                                       std::size_t page_size);

/// The consumer of an export: called with each event in id order; returns
/// false to stop the export (the auditor has what it needs).
using EventSink = std::function<bool(const Event&)>;

/// Hands every event of the table to `sink`, in id order, reading pages of
/// `page_size` rows, until the table ends or `sink` returns false. Returns
/// how many events it handed to `sink`. The sink sees each row after the page
/// that holds it has been read, not after the whole table has; a database
/// error propagates to the caller once the rows before it were handed out,
/// whatever page failed (an error on the first page is not an empty table).
/// An exception thrown by `sink` propagates out of for_each_event() as it is,
/// and no further page is read. A page_size of 0 throws std::invalid_argument.
boost::asio::awaitable<std::uint64_t> for_each_event(mockdb::DatabaseService& db,
                                                     std::size_t page_size, EventSink sink);

// ---- provided (events.cpp) ----

/// Adds `count` events with ids 1 to `count` (amounts and kinds vary), then
/// deletes every id in `gaps` (as refunds erase rows), so the ids have holes.
boost::asio::awaitable<void> add_sample_events(mockdb::DatabaseService& db, int count,
                                               std::vector<mockdb::Id> gaps = {});

}  // namespace ch09
