// Chapter 08's instruments: the cache that notices overlapping calls, and the
// request that notices reads after its destruction. Provided code, the same
// for the pitfall and the fix.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include "view_counter.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define CH08_HAS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CH08_HAS_ASAN 1
#endif
#endif

namespace ch08 {

// ---- ViewCache

namespace {

// Every live ViewCache, and the overlaps of every ViewCache ever made: the
// test reads them here, not through the counter that owns the cache.
struct CacheRegistry {
  std::mutex mutex;
  std::unordered_set<const ViewCache*> alive;
  std::atomic<std::int64_t> overlaps{0};
};

CacheRegistry& cache_registry() {
  static CacheRegistry r;
  return r;
}

}  // namespace

// Marks one call as inside the cache, for as long as it runs.
class ViewCache::Visit {
 public:
  Visit(const ViewCache& cache, mockdb::Id note) : cache_(cache) {
    if (cache_.inside_.fetch_add(1, std::memory_order_relaxed) > 0) {
      cache_.overlaps_.fetch_add(1, std::memory_order_relaxed);
      cache_registry().overlaps.fetch_add(1, std::memory_order_relaxed);
      if (cache_.probed_note_.load(std::memory_order_relaxed) == note) {
        cache_.probe_hits_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  ~Visit() { cache_.inside_.fetch_sub(1, std::memory_order_relaxed); }
  Visit(const Visit&) = delete;
  Visit& operator=(const Visit&) = delete;
  Visit(Visit&&) = delete;
  Visit& operator=(Visit&&) = delete;

 private:
  const ViewCache& cache_;
};

ViewCache::ViewCache(std::size_t notes, std::chrono::milliseconds overlap_probe)
    : views_(notes, -1),
      probe_left_us_(std::chrono::microseconds(overlap_probe).count()),
      overlap_probe_(overlap_probe) {
  CacheRegistry& r = cache_registry();
  const std::lock_guard lock(r.mutex);
  r.alive.insert(this);
}

ViewCache::~ViewCache() {
  CacheRegistry& r = cache_registry();
  const std::lock_guard lock(r.mutex);
  r.alive.erase(this);
}

std::int64_t ViewCache::overlaps_everywhere() noexcept {
  return cache_registry().overlaps.load(std::memory_order_relaxed);
}

std::vector<std::int64_t> ViewCache::cached_everywhere(mockdb::Id note) {
  CacheRegistry& r = cache_registry();
  const std::lock_guard lock(r.mutex);
  std::vector<std::int64_t> counts;
  for (const ViewCache* cache : r.alive) {
    if (note < 1 || static_cast<std::size_t>(note) > cache->views_.size()) continue;
    const std::int64_t views = cache->views_[static_cast<std::size_t>(note - 1)];
    if (views >= 0) counts.push_back(views);
  }
  return counts;
}

std::size_t ViewCache::slot(mockdb::Id note) const {
  if (note < 1 || static_cast<std::size_t>(note) > views_.size()) {
    throw std::out_of_range("ViewCache: no note " + std::to_string(note));
  }
  return static_cast<std::size_t>(note - 1);
}

std::optional<std::int64_t> ViewCache::find(mockdb::Id note) const {
  const Visit visit(*this, note);
  const std::int64_t views = views_[slot(note)];
  if (views < 0) return std::nullopt;
  return views;
}

void ViewCache::put(mockdb::Id note, std::int64_t views) {
  const Visit visit(*this, note);
  probe(note);
  views_[slot(note)] = views;
}

void ViewCache::probe(mockdb::Id note) {
  // Wait a little in each write, as a thread preempted here would, for a
  // call on another thread to come in on the same note (only a call nothing
  // keeps out can), until one has or the probe's budget is spent. Then the
  // write below and that call touch the same count with nothing ordering
  // them: a data race, every time, that ThreadSanitizer reports.
  using Clock = std::chrono::steady_clock;
  const std::chrono::microseconds slice = overlap_probe_ / 20;
  if (probe_hits_.load(std::memory_order_relaxed) > 0 ||
      probe_left_us_.load(std::memory_order_relaxed) <= 0) {
    return;
  }
  mockdb::Id none = 0;
  if (!probed_note_.compare_exchange_strong(none, note, std::memory_order_relaxed)) {
    return;  // the other thread is probing: this call may be the one it waits for
  }
  const auto start = Clock::now();
  while (probe_hits_.load(std::memory_order_relaxed) == 0 && Clock::now() - start < slice) {
    std::this_thread::yield();
  }
  probed_note_.store(0, std::memory_order_relaxed);
  const auto spent = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  probe_left_us_.fetch_sub(spent.count(), std::memory_order_relaxed);
}

// ---- PageView

namespace {

struct Registry {
  std::mutex mutex;
  std::unordered_multiset<const PageView*> alive;
  std::atomic<std::int64_t> dead_reads{0};
};

Registry& registry() {
  static Registry r;
  return r;
}

void enroll(const PageView* view) {
  Registry& r = registry();
  const std::lock_guard lock(r.mutex);
  r.alive.insert(view);
}

const std::string kDestroyedReader = "<destroyed PageView>";

}  // namespace

PageView::PageView(mockdb::Id note, std::string reader) : note_(note), reader_(std::move(reader)) {
  enroll(this);
}

PageView::PageView(const PageView& other) : note_(other.note()), reader_(other.reader()) {
  enroll(this);
}

PageView::PageView(PageView&& other) noexcept
    : note_(other.note_), reader_(std::move(other.reader_)) {
  enroll(this);
}

PageView& PageView::operator=(const PageView& other) {
  if (this != &other) {
    note_ = other.note();
    reader_ = other.reader();
  }
  return *this;
}

PageView& PageView::operator=(PageView&& other) noexcept {
  note_ = other.note_;
  reader_ = std::move(other.reader_);
  return *this;
}

PageView::~PageView() {
  {
    Registry& r = registry();
    const std::lock_guard lock(r.mutex);
    const auto it = r.alive.find(this);
    if (it != r.alive.end()) r.alive.erase(it);
  }
  // Scribble over the name before it is freed: a view of it that outlives
  // this object reads '#', not the name (volatile: the stores must happen).
  volatile char* chars = reader_.data();
  for (std::size_t i = 0; i < reader_.size(); ++i) chars[i] = '#';
}

bool PageView::alive() const {
  Registry& r = registry();
  const std::lock_guard lock(r.mutex);
  if (r.alive.contains(this)) return true;
  r.dead_reads.fetch_add(1, std::memory_order_relaxed);
  return false;
}

mockdb::Id PageView::note() const {
#if defined(CH08_HAS_ASAN)
  (void)alive();
  return note_;  // freed memory, if dead: AddressSanitizer reports this read
#else
  return alive() ? note_ : 0;
#endif
}

const std::string& PageView::reader() const {
#if defined(CH08_HAS_ASAN)
  (void)alive();
  return reader_;
#else
  return alive() ? reader_ : kDestroyedReader;
#endif
}

std::int64_t PageView::reads_after_destruction() noexcept {
  return registry().dead_reads.load(std::memory_order_relaxed);
}

std::size_t PageView::alive_count() {
  Registry& r = registry();
  const std::lock_guard lock(r.mutex);
  return r.alive.size();
}

}  // namespace ch08
