// Chapter 09's provided parts: the resident-row counter every Event carries,
// turning a database row into an Event, and sample events. The pitfall and the
// fix use them alike; the lesson is only how the pages are read and held.
#include <atomic>
#include <boost/json/value.hpp>
#include <string>
#include <utility>

#include "event_export.hpp"

namespace ch09 {

namespace {

std::atomic<std::size_t> live_rows{0};
std::atomic<std::size_t> peak_rows{0};

void count_one_more() noexcept {
  const std::size_t now = live_rows.fetch_add(1, std::memory_order_relaxed) + 1;
  std::size_t peak = peak_rows.load(std::memory_order_relaxed);
  while (now > peak && !peak_rows.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

void count_one_less() noexcept { live_rows.fetch_sub(1, std::memory_order_relaxed); }

}  // namespace

// Every token counts from construction to destruction, whatever it was made
// from: a copy, a move, and the moved-from shell a move leaves behind are all
// one more Event in memory until destroyed. A count that a move could hand
// over would let a copy of a moved-from shell, with its fields filled in
// afterwards, hold a row uncounted.
ResidentRow::ResidentRow() noexcept { count_one_more(); }
ResidentRow::ResidentRow(const ResidentRow& /*other*/) noexcept { count_one_more(); }
ResidentRow::ResidentRow(ResidentRow&& /*other*/) noexcept { count_one_more(); }
ResidentRow::~ResidentRow() { count_one_less(); }

std::size_t ResidentRow::live() noexcept { return live_rows.load(std::memory_order_relaxed); }
std::size_t ResidentRow::peak() noexcept { return peak_rows.load(std::memory_order_relaxed); }
void ResidentRow::reset_peak() noexcept {
  peak_rows.store(live_rows.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

// A move takes the whole row: the moved-from Event is an empty shell (still
// counted until it is destroyed).
Event::Event(Event&& other) noexcept
    : id(std::exchange(other.id, 0)),
      amount(std::exchange(other.amount, 0)),
      kind(std::move(other.kind)),
      resident_(std::move(other.resident_)) {
  other.kind.clear();
}
Event& Event::operator=(Event&& other) noexcept {
  if (this == &other) return *this;
  id = std::exchange(other.id, 0);
  amount = std::exchange(other.amount, 0);
  kind = std::move(other.kind);
  other.kind.clear();
  resident_ = std::move(other.resident_);
  return *this;
}

Event::Event(const mockdb::Row& row)
    : id(row.at("id").to_number<mockdb::Id>()),
      amount(row.at("amount").to_number<std::int64_t>()),
      kind(row.at("kind").as_string().c_str()) {}

boost::asio::awaitable<void> add_sample_events(mockdb::DatabaseService& db, int count,
                                               std::vector<mockdb::Id> gaps) {
  static constexpr const char* kKinds[] = {"card", "transfer", "refund", "fee"};
  for (int i = 1; i <= count; ++i) {
    mockdb::Row event;
    event["amount"] = 100 + (i * 37) % 9900;
    event["kind"] = kKinds[i % 4];
    co_await db.create(kEventsTable, std::move(event));
  }
  for (const mockdb::Id id : gaps) co_await db.remove(kEventsTable, id);
}

}  // namespace ch09
