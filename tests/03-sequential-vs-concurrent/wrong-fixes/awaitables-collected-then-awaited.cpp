// WRONG: awaitables collected first, then awaited one by one: each starts only when awaited.
// expect: 3 reads took 30 ms with 1 in flight; reads did not overlap
//
// The learner's reading of "start them all, then wait": calling read_note()
// builds a coroutine frame and runs none of it (awaitable's promise suspends
// at once: initial_suspend returns suspend_always in boost/asio/impl/awaitable.hpp).
#include <utility>

#include "note_reader.hpp"

namespace ch03 {

boost::asio::awaitable<std::vector<NoteResult>> read_notes(mockdb::DatabaseService& db,
                                                           std::vector<mockdb::Id> ids) {
  std::vector<boost::asio::awaitable<NoteResult>> reads;
  reads.reserve(ids.size());
  for (const mockdb::Id id : ids) reads.push_back(read_note(db, id));  // "started"
  std::vector<NoteResult> results;
  results.reserve(reads.size());
  for (auto& read : reads) results.push_back(co_await std::move(read));
  co_return results;
}

boost::asio::awaitable<std::array<NoteResult, 3>> read_three(mockdb::DatabaseService& db,
                                                             mockdb::Id a, mockdb::Id b,
                                                             mockdb::Id c) {
  auto read_a = read_note(db, a);
  auto read_b = read_note(db, b);
  auto read_c = read_note(db, c);
  NoteResult first = co_await std::move(read_a);
  NoteResult second = co_await std::move(read_b);
  NoteResult third = co_await std::move(read_c);
  co_return std::array{std::move(first), std::move(second), std::move(third)};
}

}  // namespace ch03
