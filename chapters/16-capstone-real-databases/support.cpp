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
  // LEAD: add "sqlite" and "postgres" here once their backends are merged.
  return {"mock"};
}

std::unique_ptr<mockdb::DatabaseService> open_backend(
    std::string_view name, [[maybe_unused]] const boost::asio::any_io_executor& executor,
    const BackendOptions& options) {
  if (name == "mock") {
    auto mock = std::make_unique<mockdb::MockDatabase>(mockdb::MockConfig{.trace = false});
    mock->set_latency(mockdb::Latency::fixed(options.latency));
    return mock;
  }
  // LEAD: the real backends go here, e.g.
  //   if (name == "sqlite") return sqlite_db::open(executor, ...);
  //   if (name == "postgres") return postgres_db::open(executor, ...);
  std::string known;
  for (const std::string_view k : known_backends()) {
    known += (known.empty() ? "" : ", ") + std::string(k);
  }
  throw std::invalid_argument("no backend called \"" + std::string(name) +
                              "\"; the known backends are: " + known);
}

}  // namespace ch16
