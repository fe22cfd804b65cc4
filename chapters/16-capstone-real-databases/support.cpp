// Chapter 16's provided code: the instrumented mutex, sample notes, and the
// seam where the demo and the benchmark choose a backend by name. The pitfall
// and the fix differ only in notes_service.cpp.
#include <atomic>
#include <boost/json/object.hpp>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "mockdb/mock_database.hpp"
#include "notes_service.hpp"
#include "workbook/backends.hpp"

namespace ch16 {

namespace {
std::atomic<std::size_t> reentries{0};  // process-wide: a test cannot reach the service's mutex
std::atomic<bool> reported{false};
}  // namespace

void CheckedMutex::lock() {
  std::unique_lock guard(mutex_);
  const std::thread::id self = std::this_thread::get_id();
  if (depth_ > 0 && owner_ == self) {
    // Only a suspended coroutine of this very thread can hold it: a
    // std::mutex would block this thread for good, and with it the loop.
    ++depth_;
    ++reentries;
    if (!reported.exchange(true)) {
      std::fprintf(stderr,
                   "CheckedMutex: a coroutine asked for the service's mutex while another "
                   "coroutine of the same thread held it across co_await. A std::mutex would "
                   "deadlock here; this one lets it in and counts it.\n");
    }
    return;
  }
  free_.wait(guard, [this] { return depth_ == 0; });
  owner_ = self;
  depth_ = 1;
}

void CheckedMutex::unlock() {
  const std::lock_guard guard(mutex_);
  if (depth_ > 0 && --depth_ == 0) {
    owner_ = {};
    free_.notify_one();
  }
}

std::size_t CheckedMutex::held_across_co_await() noexcept { return reentries.load(); }

boost::asio::awaitable<void> add_sample_notes(mockdb::DatabaseService& db, int owners,
                                              int per_owner) {
  for (int i = 0; i < per_owner; ++i) {
    for (int owner = 1; owner <= owners; ++owner) {
      const mockdb::Row note{{"owner", owner}, {"title", "note"}};
      const mockdb::Id id = co_await db.create(kNotesTable, note);
      mockdb::Row title{{"title", "note " + std::to_string(id)}};
      co_await db.update(kNotesTable, id, std::move(title));
    }
  }
}

std::vector<std::string_view> known_backends() {
  static const std::vector<std::string> names = workbook::backend_names();
  return {names.begin(), names.end()};
}

std::unique_ptr<mockdb::DatabaseService> open_backend(std::string_view name,
                                                      const boost::asio::any_io_executor& executor,
                                                      const BackendOptions& options) {
  if (name == "mock") {
    // The same pool size as the real backends get from workbook::open_backend().
    auto mock = std::make_unique<mockdb::MockDatabase>(mockdb::MockConfig{
        .max_connections = workbook::BackendOptions{}.max_connections, .trace = false});
    mock->set_latency(mockdb::Latency::fixed(options.latency));
    return mock;
  }
  // SQLite on a temporary file, PostgreSQL in a database of its own (on the server PGHOST
  // names, or a throwaway one): both removed with the returned object. An unknown name throws
  // std::invalid_argument listing the known ones; a backend that cannot run here,
  // workbook::BackendUnavailable saying why.
  return workbook::open_backend(name, executor);
}

}  // namespace ch16
