// RIGHT: the counts live in a std::map behind a mutex; the ViewCache is left unused.
//
// Another store, the same discipline: each section under the lock is a few
// instructions with no co_await, and the load happens outside it, its result
// used only if the note is still not counted. The test reads every live
// ViewCache, so this one must stay empty: a cache used beside the map would
// have to be right too.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "view_counter.hpp"

namespace ch08 {

namespace asio = boost::asio;

struct ViewCounter::State {
  State(mockdb::DatabaseService& database, asio::any_io_executor ex, std::size_t notes,
        std::chrono::milliseconds overlap_probe)
      : db(database), executor(std::move(ex)), cache(notes, overlap_probe) {}

  mockdb::DatabaseService& db;
  asio::any_io_executor executor;
  ViewCache cache;   // unused here
  std::mutex mutex;  // guards counts
  std::map<mockdb::Id, std::int64_t> counts;
};

namespace {

asio::awaitable<std::int64_t> load_views(mockdb::DatabaseService& db, mockdb::Id note) {
  const std::optional<mockdb::Row> row = co_await db.read("notes", note);
  if (!row || !row->contains("views")) co_return 0;
  co_return row->at("views").as_int64();
}

asio::awaitable<std::int64_t> count_view(std::shared_ptr<ViewCounter::State> state,
                                         mockdb::Id note) {
  bool known = false;
  {
    const std::lock_guard lock(state->mutex);
    known = state->counts.contains(note);
  }
  std::int64_t loaded = 0;
  if (!known) loaded = co_await load_views(state->db, note);  // no lock held here
  const std::lock_guard lock(state->mutex);
  const auto [it, fresh] = state->counts.try_emplace(note, loaded);
  co_return ++it->second;
}

asio::awaitable<void> log_view(std::shared_ptr<ViewCounter::State> state, PageView view) {
  co_await count_view(state, view.note());
  mockdb::Row row;
  row["note"] = view.note();
  row["reader"] = view.reader();
  co_await state->db.create("view_log", std::move(row));
}

}  // namespace

ViewCounter::ViewCounter(mockdb::DatabaseService& db, const asio::any_io_executor& executor,
                         std::size_t notes, std::chrono::milliseconds overlap_probe)
    : state_(std::make_shared<State>(db, executor, notes, overlap_probe)) {}

ViewCounter::~ViewCounter() = default;

asio::awaitable<std::int64_t> ViewCounter::record_view(mockdb::Id note) {
  co_return co_await count_view(state_, note);
}

void ViewCounter::record_in_background(const PageView& view) {
  spawn_owned(state_->executor, &log_view, state_, view);
}

std::int64_t ViewCounter::cached_views(mockdb::Id note) const {
  const std::lock_guard lock(state_->mutex);
  const auto it = state_->counts.find(note);
  return it == state_->counts.end() ? 0 : it->second;
}

std::int64_t ViewCounter::cache_overlaps() const { return 0; }  // no cache used

}  // namespace ch08
