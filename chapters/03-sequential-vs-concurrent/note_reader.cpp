// Chapter 03, the pitfall: reads awaited one after another.
//
// `co_await` suspends this coroutine until the read it names has completed,
// and only then does the next line start the next read. Every line is correct;
// the reads just never overlap, so N reads take N times the database latency.
#include "note_reader.hpp"

#include <utility>

namespace ch03 {

boost::asio::awaitable<std::vector<NoteResult>> read_notes(mockdb::DatabaseService& db,
                                                           std::vector<mockdb::Id> ids) {
  std::vector<NoteResult> results;
  results.reserve(ids.size());
  //! [pitfall]
  for (const mockdb::Id id : ids) {
    results.push_back(co_await read_note(db, id));  // the next read waits for this one
  }
  //! [pitfall]
  co_return results;
}

boost::asio::awaitable<std::array<NoteResult, 3>> read_three(mockdb::DatabaseService& db,
                                                             mockdb::Id a, mockdb::Id b,
                                                             mockdb::Id c) {
  //! [pitfall_three]
  NoteResult first = co_await read_note(db, a);
  NoteResult second = co_await read_note(db, b);  // starts when `first` is done
  NoteResult third = co_await read_note(db, c);   // starts when `second` is done
  //! [pitfall_three]
  co_return std::array{std::move(first), std::move(second), std::move(third)};
}

}  // namespace ch03
