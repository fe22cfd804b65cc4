// WRONG: read_notes() reads in batches of three (read_three in a loop): 3 in flight, not N.
// expect: 64 reads took 220 ms with 3 in flight; reads did not overlap
//
// Concurrency sized to the example: the fix for three reads, applied in a
// loop. The number of reads is known only at run time; start them all.
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <utility>

#include "note_reader.hpp"

namespace ch03 {

namespace asio = boost::asio;

boost::asio::awaitable<std::vector<NoteResult>> read_notes(mockdb::DatabaseService& db,
                                                           std::vector<mockdb::Id> ids) {
  std::vector<NoteResult> results;
  results.reserve(ids.size());
  std::size_t i = 0;
  for (; i + 3 <= ids.size(); i += 3) {
    auto three = co_await read_three(db, ids[i], ids[i + 1], ids[i + 2]);
    for (NoteResult& r : three) results.push_back(std::move(r));
  }
  for (; i < ids.size(); ++i) results.push_back(co_await read_note(db, ids[i]));
  co_return results;
}

boost::asio::awaitable<std::array<NoteResult, 3>> read_three(mockdb::DatabaseService& db,
                                                             mockdb::Id a, mockdb::Id b,
                                                             mockdb::Id c) {
  using namespace asio::experimental::awaitable_operators;
  auto [first, second, third] = co_await (read_note(db, a) && read_note(db, b) && read_note(db, c));
  co_return std::array{std::move(first), std::move(second), std::move(third)};
}

}  // namespace ch03
