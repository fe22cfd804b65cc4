// WRONG: a cancelled export returns normally, as if it had finished.
// expect: a cancellation swallowed
// (the adversary: export_notes() treats a cancellation of a page as the end of the export and
// returns normally: the caller never learns it was cancelled)
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
#include "notes_service.hpp"
#include "workbook/timer.hpp"

namespace ch16 {

namespace asio = boost::asio;
using workbook::Clock;

struct NotesService::State {
  explicit State(std::uint64_t seed) : rng(seed) {}
  mutable CheckedMutex mutex;  // guards the counters and the generator
  ServiceStats stats;
  std::mt19937_64 rng;
};

namespace {

template <typename Change>
auto record(NotesService::State& state, Change change) {
  const std::lock_guard lock(state.mutex);
  return change(state);
}

// Runs `op`, keeping its result in `out`; its failure is returned, not thrown.
template <typename T>
asio::awaitable<std::exception_ptr> ended(asio::awaitable<T> op, std::optional<T>& out) {
  try {
    out.emplace(co_await std::move(op));
  } catch (...) {
    co_return std::current_exception();
  }
  co_return nullptr;
}

// `op` with a deadline of `limit`: throws Errc::timed_out once the operation has been cancelled.
template <typename T>
asio::awaitable<T> within(asio::awaitable<T> op, Clock::duration limit) {
  using namespace asio::experimental::awaitable_operators;
  std::optional<T> out;
  workbook::Timer deadline(co_await asio::this_coro::executor, limit);
  const std::variant<std::exception_ptr, std::monostate> first =
      co_await (ended(std::move(op), out) || deadline.async_wait(asio::use_awaitable));
  if (first.index() == 1) mockdb::throw_database_error(mockdb::Errc::timed_out, "no reply in time");
  if (const std::exception_ptr& e = std::get<0>(first)) std::rethrow_exception(e);
  co_return std::move(*out);
}

Clock::duration backoff(NotesService::State& state, const Policy& policy, int attempt) {
  Clock::duration ceiling = policy.backoff_base;
  for (int i = 1; i < attempt && ceiling < policy.backoff_cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, policy.backoff_cap);
  return record(state, [&](NotesService::State& s) {
    std::uniform_int_distribution<Clock::rep> draw(ceiling.count() / 2, ceiling.count());
    return Clock::duration(draw(s.rng));
  });
}

template <typename T, typename Make>
asio::awaitable<T> attempt(NotesService::State& state, const Policy& policy, Make make,
                           std::string what) {
  for (int attempt = 1;; ++attempt) {
    record(state, [](NotesService::State& s) { ++s.stats.attempts; });
    try {
      co_return co_await within(make(), policy.timeout);
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
  } catch (const mockdb::DatabaseError& e) {
    if (e.code() == mockdb::ErrorClass::timed_out) {
      record(*state_, [](State& s) { ++s.stats.timeouts; });
    }
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
asio::awaitable<void> read_worker(NotesService& service, const std::vector<mockdb::Id>& ids,
                                  std::size_t& next, std::vector<std::optional<mockdb::Row>>& notes,
                                  std::vector<std::exception_ptr>& errors) {
  while (next < ids.size()) {
    const std::size_t i = next++;
    try {
      notes[i] = co_await service.read_note(ids[i]);
    } catch (const boost::system::system_error& e) {
      if (e.code() == asio::error::operation_aborted) throw;
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
  const auto ex = co_await asio::this_coro::executor;
  std::size_t next = 0;
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
  for (const std::exception_ptr& e : ended) {
    if (e) std::rethrow_exception(e);
  }
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  co_return notes;
}

boost::asio::awaitable<std::size_t> NotesService::export_notes(std::int64_t owner, NoteSink sink) {
  std::size_t handed = 0;
  mockdb::Id last = 0;
  for (;;) {
    auto next_page = [this, owner, last] {
      mockdb::Params params{owner, last, policy_.page_size};
      return db_.query("SELECT * FROM notes WHERE owner = $1 AND id > $2 ORDER BY id LIMIT $3",
                       std::move(params));
    };
    mockdb::Rows page;
    try {
      page =
          co_await attempt<mockdb::Rows>(*state_, policy_, next_page,
                                         "exporting the notes of owner " + std::to_string(owner) +
                                             " after note " + std::to_string(last));
    } catch (const boost::system::system_error& e) {
      if (e.code() == asio::error::operation_aborted) co_return handed;  // stopped: done
      throw;
    }
    for (const mockdb::Row& note : page) {
      ++handed;
      if (!sink(note)) co_return handed;
    }
    if (page.size() < policy_.page_size) co_return handed;
    last = page.back().at("id").to_number<mockdb::Id>();
  }
}

}  // namespace ch16
