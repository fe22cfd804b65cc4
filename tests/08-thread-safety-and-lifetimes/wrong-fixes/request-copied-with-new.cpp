// WRONG: the task borrows a copy of the request made with new, which nobody deletes.
// expect: copies of PageView are still alive after all
//
// No read after free any more: the copy lives forever. One PageView leaks
// per background view, for as long as the server runs.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <memory>
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
  ViewCache cache;
};

namespace {

asio::awaitable<std::int64_t> load_views(mockdb::DatabaseService& db, mockdb::Id note) {
  const std::optional<mockdb::Row> row = co_await db.read("notes", note);
  if (!row || !row->contains("views")) co_return 0;
  co_return row->at("views").as_int64();
}

// Run on the strand. Neither suspends: no other coroutine uses the cache
// between their read and their write.
asio::awaitable<std::optional<std::int64_t>> find_on_strand(
    std::shared_ptr<ViewCounter::State> state, mockdb::Id note) {
  co_return state->cache.find(note);
}

asio::awaitable<std::int64_t> add_on_strand(std::shared_ptr<ViewCounter::State> state,
                                            mockdb::Id note, std::int64_t loaded) {
  const std::int64_t views = state->cache.find(note).value_or(loaded) + 1;
  state->cache.put(note, views);
  co_return views;
}

asio::awaitable<std::int64_t> count_view(std::shared_ptr<ViewCounter::State> state,
                                         mockdb::Id note) {
  auto find = asio::co_spawn(state->strand, find_on_strand(state, note), asio::use_awaitable);
  const std::optional<std::int64_t> cached = co_await std::move(find);
  std::int64_t loaded = 0;
  if (!cached) loaded = co_await load_views(state->db, note);  // nothing of the cache held here
  auto add = asio::co_spawn(state->strand, add_on_strand(state, note, loaded), asio::use_awaitable);
  co_return co_await std::move(add);
}

asio::awaitable<void> log_view(std::shared_ptr<ViewCounter::State> state, const PageView& view) {
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
  const PageView* owned = new PageView(view);  // never deleted
  asio::co_spawn(state_->executor, log_view(state_, *owned), asio::detached);
}

std::int64_t ViewCounter::cached_views(mockdb::Id note) const {
  return state_->cache.find(note).value_or(0);
}

std::int64_t ViewCounter::cache_overlaps() const { return state_->cache.overlaps(); }

}  // namespace ch08
