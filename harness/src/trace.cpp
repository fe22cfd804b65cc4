// Spans of database operations, and the registry of live traces that lets a
// stuck run say what was still pending.
#include "workbook/trace.hpp"

#include <algorithm>
#include <cstdio>

namespace workbook {
namespace {

// The registry is never destroyed: a trace with static storage duration (a
// benchmark's shared MockDatabase, say) may be destroyed after any other
// static object, and must still find the registry to leave it.
std::mutex& registry_mutex() {
  static auto* mutex = new std::mutex;
  return *mutex;
}
std::vector<const Trace*>& registry() {
  static auto* traces = new std::vector<const Trace*>;
  return *traces;
}

}  // namespace

const char* to_string(Outcome o) noexcept {
  switch (o) {
    case Outcome::pending:
      return "pending";
    case Outcome::ok:
      return "ok";
    case Outcome::failed:
      return "failed";
    case Outcome::cancelled:
      return "cancelled";
  }
  return "unknown";
}

Clock::duration Span::duration() const noexcept { return end.value_or(Clock::now()) - start; }

Trace::Trace(std::string name) : name_(std::move(name)) {
  std::lock_guard lock(registry_mutex());
  registry().push_back(this);
}

Trace::~Trace() {
  std::lock_guard lock(registry_mutex());
  std::erase(registry(), this);
}

std::uint64_t Trace::begin(std::string operation, std::string key, SpanLinks links) {
  if (!enabled()) return 0;
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  const std::uint64_t id = next_id_++;
  Span& span = spans_.emplace_back();
  span.id = id;
  span.operation = std::move(operation);
  span.key = std::move(key);
  span.start = now;
  span.links = links;
  if (spans_.size() > capacity_) {
    // Forget the oldest span that has ended (usually the first one).
    auto oldest = std::find_if(spans_.begin(), spans_.end(),
                               [](const Span& s) { return s.outcome != Outcome::pending; });
    if (oldest != spans_.end()) {
      spans_.erase(oldest);
      ++dropped_;
    }
  }
  return id;
}

void Trace::set_capacity(std::size_t spans) {
  std::lock_guard lock(mutex_);
  capacity_ = std::max<std::size_t>(spans, 1);
}

std::uint64_t Trace::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

void Trace::end(std::uint64_t id, Outcome outcome, std::string detail) {
  if (id == 0) return;
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  // Ids grow with position, so the span is found by binary search.
  auto it = std::lower_bound(spans_.begin(), spans_.end(), id,
                             [](const Span& s, std::uint64_t v) { return s.id < v; });
  if (it == spans_.end() || it->id != id) return;
  it->end = now;
  it->outcome = outcome;
  (outcome == Outcome::cancelled ? it->cancel_reason : it->detail) = std::move(detail);
}

void Trace::set_queued(std::uint64_t id, Clock::duration waited) {
  if (id == 0) return;
  std::lock_guard lock(mutex_);
  auto it = std::lower_bound(spans_.begin(), spans_.end(), id,
                             [](const Span& s, std::uint64_t v) { return s.id < v; });
  if (it != spans_.end() && it->id == id) it->links.queued = waited;
}

std::vector<Span> Trace::spans() const {
  std::lock_guard lock(mutex_);
  return {spans_.begin(), spans_.end()};
}

std::vector<Span> Trace::pending() const {
  std::lock_guard lock(mutex_);
  std::vector<Span> open;
  for (const Span& s : spans_) {
    if (s.outcome == Outcome::pending) open.push_back(s);
  }
  return open;
}

void Trace::clear() {
  std::lock_guard lock(mutex_);
  spans_.clear();
}

void Trace::set_enabled(bool enabled) noexcept { enabled_.store(enabled); }

std::string Trace::describe_all_pending() {
  std::string out;
  std::lock_guard lock(registry_mutex());
  for (const Trace* trace : registry()) {
    for (const Span& s : trace->pending()) {
      char since[64];
      std::snprintf(since, sizeof since, ", pending since t=%.1f ms", to_ms(s.start));
      out += "  " + s.operation + (s.key.empty() ? "" : " " + s.key) + since + " (" +
             trace->name() + ")\n";
    }
  }
  return out.empty() ? "  none\n" : out;
}

}  // namespace workbook
