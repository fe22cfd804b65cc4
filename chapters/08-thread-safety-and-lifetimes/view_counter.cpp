// Chapter 08, the pitfall: a cache shared without a discipline, and a task
// that borrows what it does not own.
//
// record_view() reads a note's count, suspends to load it from the database
// if it was not cached, and writes the count + 1 back. Every other coroutine
// that counts a view of the note between the read and the write is lost,
// even on one thread; on two threads the reads and writes also race.
// record_in_background() starts a task that keeps a reference to the
// caller's PageView: the task runs after the caller has destroyed it.
#include "view_counter.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/object.hpp>
#include <memory>
#include <utility>

namespace ch08 {

namespace asio = boost::asio;

struct ViewCounter::State {
  State(mockdb::DatabaseService& database, asio::any_io_executor ex, std::size_t notes,
        std::chrono::milliseconds overlap_probe)
      : db(database), executor(std::move(ex)), cache(notes, overlap_probe) {}

  mockdb::DatabaseService& db;
  asio::any_io_executor executor;
  ViewCache cache;  // shared by every thread that runs the io_context
};

namespace {

asio::awaitable<std::int64_t> load_views(mockdb::DatabaseService& db, mockdb::Id note) {
  const std::optional<mockdb::Row> row = co_await db.read("notes", note);
  if (!row || !row->contains("views")) co_return 0;
  co_return row->at("views").as_int64();
}

asio::awaitable<std::int64_t> count_view(std::shared_ptr<ViewCounter::State> state,
                                         mockdb::Id note) {
  //! [pitfall-count]
  const std::optional<std::int64_t> cached = state->cache.find(note);
  std::int64_t views = 0;
  if (cached) {
    views = *cached;
  } else {
    views = co_await load_views(state->db, note);  // other coroutines run meanwhile
  }
  state->cache.put(note, views + 1);  // overwrites whatever they counted
  co_return views + 1;
  //! [pitfall-count]
}

//! [pitfall-log]
asio::awaitable<void> log_view(std::shared_ptr<ViewCounter::State> state, const PageView& view) {
  co_await count_view(state, view.note());
  mockdb::Row row;
  row["note"] = view.note();
  row["reader"] = view.reader();
  co_await state->db.create("view_log", std::move(row));
}
//! [pitfall-log]

}  // namespace

ViewCounter::ViewCounter(mockdb::DatabaseService& db, const asio::any_io_executor& executor,
                         std::size_t notes, std::chrono::milliseconds overlap_probe)
    : state_(std::make_shared<State>(db, executor, notes, overlap_probe)) {}

ViewCounter::~ViewCounter() = default;

asio::awaitable<std::int64_t> ViewCounter::record_view(mockdb::Id note) {
  co_return co_await count_view(state_, note);
}

void ViewCounter::record_in_background(const PageView& view) {
  asio::co_spawn(state_->executor, log_view(state_, view), asio::detached);
}

std::int64_t ViewCounter::cached_views(mockdb::Id note) const {
  return state_->cache.find(note).value_or(0);
}

std::int64_t ViewCounter::cache_overlaps() const { return state_->cache.overlaps(); }

}  // namespace ch08
