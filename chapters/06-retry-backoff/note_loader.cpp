// Chapter 06, the pitfall: a retry loop that retries at once, forever, and
// whatever went wrong.
//
// While the database is down, every read is refused within microseconds, and
// this loop sends the next one straight away: thousands of reads hit a
// database that is trying to come back up. It never gives up, so its caller
// waits for as long as the outage lasts. And it retries errors that trying
// again cannot fix (permission denied, a malformed query, a note that does
// not exist): those loop for good.
#include "note_loader.hpp"

#include "mockdb/errors.hpp"

namespace ch06 {

boost::asio::awaitable<std::optional<mockdb::Row>> load_note(mockdb::DatabaseService& db,
                                                             mockdb::Id id,
                                                             RetryPolicy /*policy*/) {
  //! [pitfall]
  for (;;) {  // until it works
    try {
      auto note = co_await db.read(kNotesTable, id);
      if (note) co_return note;  // no note yet? read it again
    } catch (const mockdb::DatabaseError&) {
      // whatever it was, try again at once
    }
  }
  //! [pitfall]
}

}  // namespace ch06
