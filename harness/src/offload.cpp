// The process-wide count of work outside the event loop (ExternalWork), read
// by the virtual-time runner.
#include "workbook/offload.hpp"

#include <atomic>

namespace workbook {
namespace {
std::atomic<std::size_t> external_work{0};
}

ExternalWork::ExternalWork() noexcept { external_work.fetch_add(1, std::memory_order_acq_rel); }

ExternalWork::~ExternalWork() {
  if (counted_) external_work.fetch_sub(1, std::memory_order_acq_rel);
}

std::size_t pending_external_work() noexcept {
  return external_work.load(std::memory_order_acquire);
}

}  // namespace workbook
