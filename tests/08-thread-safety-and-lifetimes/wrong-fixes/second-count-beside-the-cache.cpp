// WRONG: the racy cache is kept, and a correct count in a locked map is what gets reported.
// expect: the ViewCache holds [0-9]+ views of note
//
// The pitfall's find/put is left as it was; beside it, a std::map behind a
// mutex counts correctly, and cached_views() and cache_overlaps() report the
// map and 0. The test reads the ViewCache itself: it lost updates.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
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
  State(mockdb::DatabaseService& database, const asio::any_io_executor& ex, std::size_t notes,
        std::chrono::milliseconds overlap_probe)
      : db(database), executor(ex), strand(asio::make_strand(ex)), cache(notes, overlap_probe) {}

  mockdb::DatabaseService& db;
  asio::any_io_executor executor;
  asio::strand<asio::any_io_executor> strand;
  ViewCache cache;
  std::mutex mutex;
  std::map<mockdb::Id, std::int64_t> counts;  // the count reported
};

namespace {

asio::awaitable<std::int64_t> load_views(mockdb::DatabaseService& db, mockdb::Id note) {
  const std::optional<mockdb::Row> row = co_await db.read("notes", note);
  if (!row || !row->contains("views")) co_return 0;
  co_return row->at("views").as_int64();
}

asio::awaitable<std::int64_t> count_view(std::shared_ptr<ViewCounter::State> state,
                                         mockdb::Id note) {
  const std::optional<std::int64_t> cached = state->cache.find(note);  // racy, as before
  std::int64_t views = 0;
  if (cached) {
    views = *cached;
  } else {
    views = co_await load_views(state->db, note);
  }
  state->cache.put(note, views + 1);  // racy, as before
  bool known = false;
  {
    const std::lock_guard lock(state->mutex);
    known = state->counts.contains(note);
  }
  std::int64_t loaded = 0;
  if (!known) loaded = co_await load_views(state->db, note);
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

std::int64_t ViewCounter::cache_overlaps() const { return 0; }

}  // namespace ch08
