// Chapter 05 — timeouts.
//
// A request of the notes app waits for the database, and a database can stop
// answering: a lock held by another session, a lost packet, a server stuck in
// a long vacuum. A request that waits for it without a deadline waits for
// good, and holds a connection all that time. The pitfall (chapters/) and the
// fix (solutions/) define run_with_timeout() and NoteService's requests in a
// file of the same name; this header is their shared interface.
//
// with_timeout() is generic: it takes an awaitable of any result type. The
// exercise file is a .cpp, never a header (docs/adding-a-chapter.md, "Why an
// exercise file is never a header"), so the template here is only plumbing:
// it turns any awaitable<T> into an awaitable<void> that stores its result,
// and hands that to run_with_timeout(), the one non-template function where
// the race, the cancellation and the error live. The lesson explains why this
// type-erased form and not a list of explicit instantiations.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "mockdb/database.hpp"
#include "mockdb/row.hpp"
#include "workbook/clock.hpp"

namespace ch05 {

/// The table the notes live in.
inline constexpr const char* kNotesTable = "notes";
/// The table of comments; each comment's "note" field holds its note's id.
inline constexpr const char* kCommentsTable = "comments";

/// Runs `op` with a deadline `limit` from now.
///
///  - If `op` ends first, this ends as it did: with its result, or with its
///    exception unchanged (a database error stays that error, at once).
///  - If the deadline passes first, `op` is cancelled and waited for (so the
///    query it ran has ended and released its connection before this returns),
///    and this throws mockdb::DatabaseError with code Errc::timed_out, made by
///    throw_timed_out(what, limit).
///
/// The deadline is a workbook::Timer, so it follows virtual time in tests.
boost::asio::awaitable<void> run_with_timeout(boost::asio::awaitable<void> op,
                                              workbook::Clock::duration limit, std::string what);

/// Throws mockdb::DatabaseError with code Errc::timed_out and a message that
/// names what timed out and the limit: "reading note 7: no reply within 50 ms".
[[noreturn]] void throw_timed_out(std::string_view what, workbook::Clock::duration limit);

namespace detail {
/// Awaits `op` and stores its result in `*out`. The result lives in a shared
/// object, not in the caller's frame, so that even a run_with_timeout() that
/// wrongly lets `op` outlive it cannot make `op` write into a destroyed frame.
template <typename T>
boost::asio::awaitable<void> store_result(boost::asio::awaitable<T> op,
                                          std::shared_ptr<std::optional<T>> out) {
  out->emplace(co_await std::move(op));
}
}  // namespace detail

/// with_timeout(op, limit): `op`'s result if it ends within `limit`, else
/// mockdb::DatabaseError(Errc::timed_out), with `op` cancelled and ended
/// (see run_with_timeout). Works for any result type, move-only ones included.
/// `what` names the operation in the error's message.
template <typename T>
boost::asio::awaitable<T> with_timeout(boost::asio::awaitable<T> op,
                                       workbook::Clock::duration limit,
                                       std::string what = "the operation") {
  auto result = std::make_shared<std::optional<T>>();
  auto stored = detail::store_result(std::move(op), result);
  co_await run_with_timeout(std::move(stored), limit, std::move(what));
  if (!result->has_value()) {
    throw std::logic_error(
        "run_with_timeout() returned normally, but the operation it was given had not "
        "completed: it must either wait for the operation or throw");
  }
  co_return std::move(**result);
}

/// with_timeout() for an operation without a result.
inline boost::asio::awaitable<void> with_timeout(boost::asio::awaitable<void> op,
                                                 workbook::Clock::duration limit,
                                                 std::string what = "the operation") {
  return run_with_timeout(std::move(op), limit, std::move(what));
}

/// A page of the app: a note and its comments.
struct Page {
  mockdb::Row note;       ///< The note.
  mockdb::Rows comments;  ///< Its comments, oldest first.
};

/// The requests of the notes app that read from the database, each bounded
/// by a deadline: the call's own `timeout` if it gives one, else the
/// service's default. A request that runs out of time throws
/// mockdb::DatabaseError with code Errc::timed_out; "no such note" is
/// std::nullopt and never means a timeout.
class NoteService {
 public:
  /// A service over `db` whose requests get `default_timeout` unless they
  /// say otherwise.
  NoteService(mockdb::DatabaseService& db, workbook::Clock::duration default_timeout)
      : db_(db), default_timeout_(default_timeout) {}

  /// Note `id`, or std::nullopt if there is none.
  boost::asio::awaitable<std::optional<mockdb::Row>> get_note(
      mockdb::Id id, std::optional<workbook::Clock::duration> timeout = std::nullopt);

  /// Note `id` and its comments (two database operations, one after the
  /// other), or std::nullopt if there is no such note. The deadline bounds the
  /// whole request, not each operation.
  boost::asio::awaitable<std::optional<Page>> load_page(
      mockdb::Id id, std::optional<workbook::Clock::duration> timeout = std::nullopt);

  /// The deadline of a request that does not give its own.
  workbook::Clock::duration default_timeout() const noexcept { return default_timeout_; }

 private:
  mockdb::DatabaseService& db_;
  workbook::Clock::duration default_timeout_;
};

// ---- provided (support.cpp) ----

/// Reads note `id` and then its comments, with no deadline of its own: the
/// body of load_page().
boost::asio::awaitable<std::optional<Page>> fetch_page(mockdb::DatabaseService& db, mockdb::Id id);

/// Adds `count` notes titled "note 1", "note 2", ... (ids 1 to `count`), each
/// with two comments.
boost::asio::awaitable<void> add_sample_notes(mockdb::DatabaseService& db, int count);

}  // namespace ch05
