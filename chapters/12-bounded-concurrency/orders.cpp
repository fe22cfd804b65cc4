// Chapter 12's provided building blocks: checking one order (one read, its
// failure turned into a value, its coroutine frame counted), and sample
// orders. The pitfall and the fix both use them; the lesson is only about how
// many checks run at once.
#include <boost/system/system_error.hpp>
#include <string>
#include <utility>

#include "order_checker.hpp"

namespace ch12 {
namespace {

CheckFrames frames;  // touched on the loop's thread only

// Counts one check_order() frame for as long as it exists. It is a parameter
// of the coroutine, so the frame holds it from the moment the frame is
// allocated (the parameters are moved into it) until the frame is destroyed.
// A move hands the count over, so the caller's temporary never counts twice.
class FrameToken {
 public:
  FrameToken() noexcept {
    ++frames.live;
    if (frames.live > frames.max_live) frames.max_live = frames.live;
  }
  FrameToken(FrameToken&& other) noexcept : counted_(std::exchange(other.counted_, false)) {}
  FrameToken(const FrameToken&) = delete;
  FrameToken& operator=(const FrameToken&) = delete;
  FrameToken& operator=(FrameToken&&) = delete;
  ~FrameToken() {
    if (counted_) --frames.live;
  }

 private:
  bool counted_ = true;
};

boost::asio::awaitable<OrderResult> counted_check(mockdb::DatabaseService& db, mockdb::Id id,
                                                  FrameToken /*frame*/) {
  OrderResult result;
  result.id = id;
  try {
    result.order = co_await db.read(kOrdersTable, id);
  } catch (const boost::system::system_error& failure) {
    result.error = failure.code();
  }
  co_return result;
}

}  // namespace

boost::asio::awaitable<OrderResult> check_order(mockdb::DatabaseService& db, mockdb::Id id) {
  return counted_check(db, id, FrameToken{});
}

CheckFrames check_frames() noexcept { return frames; }

void reset_check_frames() noexcept { frames.max_live = frames.live; }

std::string order_name(mockdb::Id id) { return "order " + std::to_string(id); }

boost::asio::awaitable<void> add_sample_orders(mockdb::DatabaseService& db, int count) {
  for (int i = 1; i <= count; ++i) {
    mockdb::Row order;
    order["name"] = order_name(i);
    co_await db.create(kOrdersTable, std::move(order));
  }
}

}  // namespace ch12
