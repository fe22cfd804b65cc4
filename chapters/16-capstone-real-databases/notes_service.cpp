// Chapter 16, the pitfall: five earlier pitfalls in one service.
//
// This service works on a quiet afternoon: every read comes back, nothing
// fails, batches are small and tables are short. Each of its habits breaks
// one of those assumptions. attempt() holds the counters' std::mutex across
// co_await (chapter 07), waits for the database with no deadline (chapter
// 05), and retries every database error at once and forever, permanent ones
// included (chapter 06). read_notes() starts one read per id, however many
// ids there are (chapter 12). export_notes() pages with OFFSET, so every page
// walks past all the rows before it again (chapter 09).
#include "notes_service.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <mutex>
#include <utility>

#include "mockdb/errors.hpp"

namespace ch16 {

namespace asio = boost::asio;
using workbook::Clock;

struct NotesService::State {
  explicit State(std::uint64_t /*seed*/) {}
  mutable CheckedMutex mutex;  // guards the counters
  ServiceStats stats;
};

namespace {

// Runs `change` on the counters, holding the mutex for that and nothing more.
template <typename Change>
auto record(NotesService::State& state, Change change) {
  const std::lock_guard lock(state.mutex);
  return change(state);
}

// One operation, made by `make` for each attempt, as the policy says.
template <typename T, typename Make>
asio::awaitable<T> attempt(NotesService::State& state, [[maybe_unused]] const Policy& policy,
                           Make make, [[maybe_unused]] std::string what) {
  //! [pitfall]
  for (;;) {
    try {
      const std::lock_guard lock(state.mutex);  // counts this attempt; held until it is back
      ++state.stats.attempts;
      co_return co_await make();  // no deadline, and suspends holding the lock
    } catch (const mockdb::DatabaseError&) {
      // Whatever went wrong, try again at once.
    }
    record(state, [](NotesService::State& s) { ++s.stats.retries; });
  }
  //! [pitfall]
}

}  // namespace

NotesService::NotesService(mockdb::DatabaseService& db, Policy policy)
    : db_(db), policy_(policy), state_(std::make_unique<State>(policy.seed)) {}

NotesService::~NotesService() = default;

ServiceStats NotesService::stats() const {
  return record(*state_, [](const State& s) { return s.stats; });
}

boost::asio::awaitable<mockdb::Id> NotesService::create_note(std::int64_t owner,
                                                             std::string title) {
  record(*state_, [](State& s) { ++s.stats.attempts; });
  mockdb::Row note{{"owner", owner}, {"title", std::move(title)}};
  try {
    co_return co_await db_.create(kNotesTable, std::move(note));
  } catch (const boost::system::system_error& e) {
    std::throw_with_nested(boost::system::system_error(
        e.code(), "creating a note for owner " + std::to_string(owner)));
  }
}

boost::asio::awaitable<std::optional<mockdb::Row>> NotesService::read_note(mockdb::Id id) {
  auto read = [this, id] { return db_.read(kNotesTable, id); };
  co_return co_await attempt<std::optional<mockdb::Row>>(*state_, policy_, read,
                                                         "reading note " + std::to_string(id));
}

namespace {
// One read of the batch, its failure kept apart from the others'.
asio::awaitable<void> read_one(NotesService& service, mockdb::Id id,
                               std::optional<mockdb::Row>& note, std::exception_ptr& error) {
  try {
    note = co_await service.read_note(id);
  } catch (const boost::system::system_error& e) {
    if (e.code() == asio::error::operation_aborted) throw;  // cancelled: stop the batch
    error = std::current_exception();
  }
}
}  // namespace

boost::asio::awaitable<std::vector<std::optional<mockdb::Row>>> NotesService::read_notes(
    std::vector<mockdb::Id> ids) {
  std::vector<std::optional<mockdb::Row>> notes(ids.size());
  std::vector<std::exception_ptr> errors(ids.size());
  if (ids.empty()) co_return notes;
  //! [batch]
  const auto ex = co_await asio::this_coro::executor;
  std::vector<decltype(asio::co_spawn(ex, read_one(*this, 0, notes[0], errors[0]), asio::deferred))>
      reads;
  for (std::size_t i = 0; i < ids.size(); ++i) {  // every read at once, however many
    reads.push_back(
        asio::co_spawn(ex, read_one(*this, ids[i], notes[i], errors[i]), asio::deferred));
  }
  auto group = asio::experimental::make_parallel_group(std::move(reads));
  auto [order, ended] =
      co_await group.async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  //! [batch]
  for (const std::exception_ptr& e : ended) {
    if (e) std::rethrow_exception(e);  // a cancellation
  }
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  co_return notes;
}

boost::asio::awaitable<std::size_t> NotesService::export_notes(std::int64_t owner, NoteSink sink) {
  std::size_t handed = 0;
  std::size_t offset = 0;
  //! [export]
  for (;;) {
    auto next_page = [this, owner, offset] {
      mockdb::Params params{owner, policy_.page_size, offset};
      return db_.query("SELECT * FROM notes WHERE owner = $1 ORDER BY id LIMIT $2 OFFSET $3",
                       std::move(params));
    };
    const mockdb::Rows page =
        co_await attempt<mockdb::Rows>(*state_, policy_, next_page,
                                       "exporting the notes of owner " + std::to_string(owner) +
                                           " from row " + std::to_string(offset));
    for (const mockdb::Row& note : page) {
      ++handed;
      if (!sink(note)) co_return handed;
    }
    if (page.size() < policy_.page_size) co_return handed;
    offset += page.size();
  }
  //! [export]
}

}  // namespace ch16
