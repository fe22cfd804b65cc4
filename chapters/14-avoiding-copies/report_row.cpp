// Chapter 14's provided code, the same for the pitfall and the fix: the
// counting row (the instrument every test, demo and benchmark reads), the
// checksum and the outbox broadcast() delivers to (which records what the
// test checks about the sends: where their bytes were, how many overlapped).
#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>

#include "report_service.hpp"
#include "workbook/timer.hpp"

namespace ch14 {
namespace {

// How many shared_ptrs own `row` now. Not row.weak_from_this() on the const
// row: that returns a weak_ptr<const ReportRow> converted from the stored
// weak_ptr<ReportRow>, and libstdc++ converts through lock() (shared_ptr_base.h),
// a momentary owner that a chunk read on another loop thread counts as one
// more. The weak_ptr<ReportRow> itself is copied without locking.
long shared_owners(const ReportRow& row) noexcept {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): reads a count, changes nothing
  return const_cast<ReportRow&>(row).weak_from_this().use_count();
}

}  // namespace

void CopyCounter::record_copy(std::size_t bytes) noexcept {
  copies_.fetch_add(1, std::memory_order_relaxed);
  bytes_copied_.fetch_add(static_cast<std::int64_t>(bytes), std::memory_order_relaxed);
}

void CopyCounter::record_shared_owners(long owners) noexcept {
  long peak = peak_shared_owners_.load(std::memory_order_relaxed);
  while (owners > peak &&
         !peak_shared_owners_.compare_exchange_weak(peak, owners, std::memory_order_relaxed)) {
  }
}

CopyCounts CopyCounter::counts() const noexcept {
  return CopyCounts{.copies = copies_.load(std::memory_order_relaxed),
                    .moves = moves_.load(std::memory_order_relaxed),
                    .allocations = allocations_.load(std::memory_order_relaxed),
                    .bytes_copied = bytes_copied_.load(std::memory_order_relaxed),
                    .peak_shared_owners = peak_shared_owners_.load(std::memory_order_relaxed)};
}

ReportRow::ReportRow(mockdb::Id id, std::size_t bytes, CopyCounter& counter)
    : id_(id), stamp_("new"), body_(bytes), counter_(&counter) {
  // Deterministic content, different per row, so a checksum can tell rows apart.
  for (std::size_t i = 0; i < bytes; ++i) {
    body_[i] = static_cast<char>((i * 31 + static_cast<std::size_t>(id)) & 0x7f);
  }
  if (bytes > 0) counter_->record_allocation();
}

ReportRow::ReportRow(const ReportRow& other)
    : std::enable_shared_from_this<ReportRow>(other),  // copies no owners: a copy has none yet
      id_(other.id_),
      stamp_(other.stamp_),
      body_(other.body_),
      counter_(other.counter_) {
  counter_->record_copy(body_.size());
  if (!body_.empty()) counter_->record_allocation();
}

ReportRow::ReportRow(ReportRow&& other) noexcept
    : std::enable_shared_from_this<ReportRow>(other),  // nor does a moved row
      id_(other.id_),
      stamp_(std::move(other.stamp_)),
      body_(std::move(other.body_)),
      counter_(other.counter_) {
  counter_->record_move();
}

ReportRow& ReportRow::operator=(const ReportRow& other) {
  if (this == &other) return *this;
  const bool reuses = body_.capacity() >= other.body_.size();
  id_ = other.id_;
  stamp_ = other.stamp_;
  body_ = other.body_;
  counter_ = other.counter_;
  counter_->record_copy(body_.size());
  if (!reuses && !body_.empty()) counter_->record_allocation();
  return *this;
}

ReportRow& ReportRow::operator=(ReportRow&& other) noexcept {
  id_ = other.id_;
  stamp_ = std::move(other.stamp_);
  body_ = std::move(other.body_);
  counter_ = other.counter_;
  counter_->record_move();
  return *this;
}

std::span<const char> ReportRow::body() const noexcept {
  if (counter_->watching_shared_owners()) {
    counter_->record_shared_owners(shared_owners(*this));
  }
  return body_;
}

std::span<const char> ReportRow::chunk(std::size_t offset, std::size_t length) const noexcept {
  if (counter_->watching_shared_owners()) {
    counter_->record_shared_owners(shared_owners(*this));
  }
  if (offset >= body_.size()) return {};
  return std::span<const char>(body_).subspan(offset, std::min(length, body_.size() - offset));
}

std::uint64_t checksum(std::span<const char> bytes, std::uint64_t running) noexcept {
  // Eight bytes at a time (FNV-1a on 64-bit words, then the tail byte by
  // byte): fast enough that the benchmark measures copies, not the checksum.
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, bytes.data() + i, sizeof word);
    running ^= word;
    running *= 1099511628211ULL;
  }
  for (; i < bytes.size(); ++i) {
    running ^= static_cast<unsigned char>(bytes[i]);
    running *= 1099511628211ULL;
  }
  return running;
}

Outbox::Outbox(int subscribers, workbook::Clock::duration send_latency)
    : received_(static_cast<std::size_t>(subscribers)),
      in_flight_(static_cast<std::size_t>(subscribers)),
      send_latency_(static_cast<std::size_t>(subscribers), send_latency) {}

void Outbox::set_send_latency(int subscriber, workbook::Clock::duration latency) {
  const std::scoped_lock lock(mutex_);
  send_latency_.at(static_cast<std::size_t>(subscriber)) = latency;
}

boost::asio::awaitable<void> Outbox::send(int subscriber, std::span<const char> chunk) {
  if (subscriber < 0 || subscriber >= subscribers()) {
    throw std::out_of_range("Outbox::send: no subscriber " + std::to_string(subscriber));
  }
  const auto s = static_cast<std::size_t>(subscriber);
  workbook::Clock::duration latency{};
  {
    const std::scoped_lock lock(mutex_);
    latency = send_latency_[s];
    Received& to = received_[s];
    to.most_sends_at_once = std::max(to.most_sends_at_once, ++in_flight_[s]);
    most_at_once_ = std::max(most_at_once_, ++in_flight_total_);
  }
  // A network write suspends the sender; any loop thread may resume it. (No
  // cancellation reaches these waits in this chapter, so no send is left
  // counted in flight by an exception.)
  if (latency > workbook::Clock::duration::zero()) {
    co_await workbook::sleep_for(latency);
  } else {
    co_await boost::asio::post(co_await boost::asio::this_coro::executor,
                               boost::asio::use_awaitable);
  }
  finish(s, chunk);
}

void Outbox::finish(std::size_t subscriber, std::span<const char> chunk) {
  const std::scoped_lock lock(mutex_);
  Received& to = received_[subscriber];
  to.bytes += chunk.size();
  to.checksum = checksum(chunk, to.checksum);
  to.chunks += 1;
  if (!chunk.empty()) {
    const std::less<> before;
    const char* end = chunk.data() + chunk.size();
    if (to.lowest == nullptr || before(chunk.data(), to.lowest)) to.lowest = chunk.data();
    if (to.highest_end == nullptr || before(to.highest_end, end)) to.highest_end = end;
  }
  to.last_send_ended = workbook::Clock::now();
  --in_flight_[subscriber];
  --in_flight_total_;
}

Outbox::Received Outbox::received(int subscriber) const {
  const std::scoped_lock lock(mutex_);
  return received_.at(static_cast<std::size_t>(subscriber));
}

std::size_t Outbox::most_sends_at_once() const {
  const std::scoped_lock lock(mutex_);
  return most_at_once_;
}

}  // namespace ch14
