// WRONG: a std::mutex held across the load: the next view blocks the thread the holder needs.
// expect: deadlock
//
// The lock is taken, then the coroutine suspends in load_views() still holding
// it. The next coroutine on the same thread calls lock() and blocks the thread,
// and the holder can only resume (and unlock) on a free loop thread: there is
// none. Chapter 07 is about this mistake.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
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
  asio::strand<asio::any_io_executor> strand;  // the only place the cache is used
  std::mutex mutex;
  ViewCache cache;
};

namespace {

asio::awaitable<std::int64_t> load_views(mockdb::DatabaseService& db, mockdb::Id note) {
  const std::optional<mockdb::Row> row = co_await db.read("notes", note);
  if (!row || !row->contains("views")) co_return 0;
  co_return row->at("views").as_int64();
}

asio::awaitable<std::int64_t> count_view(std::shared_ptr<ViewCounter::State> state,
                                         mockdb::Id note) {
  const std::lock_guard lock(state->mutex);
  const std::optional<std::int64_t> cached = state->cache.find(note);
  std::int64_t views = cached ? *cached : co_await load_views(state->db, note);
  state->cache.put(note, views + 1);
  co_return views + 1;
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
  spawn_owned(state_->executor, &log_view, state_, view);  // the frame gets a copy
}

std::int64_t ViewCounter::cached_views(mockdb::Id note) const {
  return state_->cache.find(note).value_or(0);
}

std::int64_t ViewCounter::cache_overlaps() const { return state_->cache.overlaps(); }

}  // namespace ch08
