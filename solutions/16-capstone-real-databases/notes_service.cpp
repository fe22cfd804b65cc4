// Chapter 16, the fix: every pattern of the workbook, in one service.
//
// Each database operation goes through attempt(): a race against a timer
// (chapter 05) inside a retry loop that waits a capped, jittered, growing
// backoff and gives up on a permanent error or when its attempts are spent
// (chapter 06), and that rethrows with what was being done (chapter 10). The
// counters are updated in short critical sections that end before any
// co_await (chapter 07). A batch runs `max_in_flight` workers, not one read per
// id (chapter 12); an export asks for the rows after the last id it handed
// out (chapter 09). Everything is awaited by its caller, so a cancellation
// reaches every operation (chapter 11).
#include "notes_service.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <mutex>
#include <random>
#include <utility>
#include <variant>

#include "mockdb/errors.hpp"
#include "workbook/timer.hpp"

namespace ch16 {

namespace asio = boost::asio;
using workbook::Clock;

struct NotesService::State {
  explicit State(std::uint64_t seed) : jitter(seed) {}
  mutable CheckedMutex mutex;  // guards the two members below
  ServiceStats stats;
  std::mt19937_64 jitter;
};

namespace {

// Awaits `op` and returns its result or its exception as a value, so that a
// failure ends a race as a success does.
template <typename T>
asio::awaitable<std::variant<T, std::exception_ptr>> settle(asio::awaitable<T> op) {
  try {
    co_return co_await std::move(op);
  } catch (...) {
    co_return std::current_exception();
  }
}

// `op`, unless `limit` passes first: then it is cancelled, and has ended, by
// the time the typed timeout is thrown.
template <typename T>
asio::awaitable<T> within(asio::awaitable<T> op, Clock::duration limit) {
  using namespace asio::experimental::awaitable_operators;
  workbook::Timer deadline(co_await asio::this_coro::executor, limit);
  auto race = settle(std::move(op)) || deadline.async_wait(asio::use_awaitable);
  // operator|| flattens the variant: the result, the exception, or the timer's monostate.
  std::variant<T, std::exception_ptr, std::monostate> first = co_await std::move(race);
  if (first.index() == 2) {
    mockdb::throw_database_error(mockdb::Errc::timed_out, "no answer within the deadline");
  }
  if (first.index() == 1) std::rethrow_exception(std::get<1>(first));
  co_return std::move(std::get<0>(first));
}

// Runs `change` on the counters, holding the mutex for that and nothing more.
template <typename Change>
auto record(NotesService::State& state, Change change) {
  const std::lock_guard lock(state.mutex);
  return change(state);
}

// The wait before attempt `attempt` + 1: base, 2 x base, 4 x base, ... up to
// the cap, drawn from the upper half of that at random.
Clock::duration backoff(NotesService::State& state, const Policy& policy, int attempt) {
  Clock::duration ceiling = policy.backoff_base;
  for (int i = 1; i < attempt && ceiling < policy.backoff_cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, policy.backoff_cap);
  const auto high = static_cast<std::uint64_t>(ceiling.count());
  return record(state, [high](NotesService::State& s) {
    std::uniform_int_distribution<std::uint64_t> upper_half(high / 2, high);
    return Clock::duration(static_cast<Clock::duration::rep>(upper_half(s.jitter)));
  });
}

// One operation, made by `make` for each attempt, as the policy says.
template <typename T, typename Make>
asio::awaitable<T> attempt(NotesService::State& state, const Policy& policy, Make make,
                           std::string what) {
  //! [fix]
  for (int attempt = 1;; ++attempt) {
    record(state, [](NotesService::State& s) { ++s.stats.attempts; });  // lock released here
    try {
      co_return co_await within(make(), policy.timeout);  // suspends holding no lock
    } catch (const mockdb::DatabaseError& e) {
      const bool transient = mockdb::is_transient(e.code());
      if (e.code() == mockdb::ErrorClass::timed_out) {
        record(state, [](NotesService::State& s) { ++s.stats.timeouts; });
      }
      if (!transient || attempt >= policy.max_attempts) {
        std::throw_with_nested(boost::system::system_error(e.code(), what));
      }
    }
    const Clock::duration wait = backoff(state, policy, attempt);
    record(state, [](NotesService::State& s) { ++s.stats.retries; });
    co_await workbook::sleep_for(wait);
  }
  //! [fix]
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
    co_return co_await within(db_.create(kNotesTable, std::move(note)), policy_.timeout);
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
// One of the batch's workers: takes the next id until there is none.
asio::awaitable<void> read_worker(NotesService& service, const std::vector<mockdb::Id>& ids,
                                  std::size_t& next, std::vector<std::optional<mockdb::Row>>& notes,
                                  std::vector<std::exception_ptr>& errors) {
  while (next < ids.size()) {
    const std::size_t i = next++;
    try {
      notes[i] = co_await service.read_note(ids[i]);
    } catch (const boost::system::system_error& e) {
      if (e.code() == asio::error::operation_aborted) throw;  // cancelled: stop the batch
      errors[i] = std::current_exception();
    }
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
  std::size_t next = 0;  // the next id to read, shared by the workers
  std::vector<decltype(asio::co_spawn(ex, read_worker(*this, ids, next, notes, errors),
                                      asio::deferred))>
      workers;
  const std::size_t count = std::min(policy_.max_in_flight, ids.size());
  for (std::size_t w = 0; w < count; ++w) {
    workers.push_back(
        asio::co_spawn(ex, read_worker(*this, ids, next, notes, errors), asio::deferred));
  }
  auto group = asio::experimental::make_parallel_group(std::move(workers));
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
  mockdb::Id last = 0;
  //! [export]
  for (;;) {
    auto next_page = [this, owner, last] {
      mockdb::Params params{owner, last, policy_.page_size};
      return db_.query("SELECT * FROM notes WHERE owner = $1 AND id > $2 ORDER BY id LIMIT $3",
                       std::move(params));
    };
    const mockdb::Rows page =
        co_await attempt<mockdb::Rows>(*state_, policy_, next_page,
                                       "exporting the notes of owner " + std::to_string(owner) +
                                           " after note " + std::to_string(last));
    for (const mockdb::Row& note : page) {
      ++handed;
      if (!sink(note)) co_return handed;
    }
    if (page.size() < policy_.page_size) co_return handed;
    last = page.back().at("id").to_number<mockdb::Id>();
  }
  //! [export]
}

}  // namespace ch16
