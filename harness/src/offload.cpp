// The process-wide count of BlockingPool jobs, read by the virtual-time runner.
#include "workbook/offload.hpp"

#include <atomic>

namespace workbook {
namespace {
std::atomic<std::size_t> external_jobs{0};
}

namespace detail {
void begin_external_job() noexcept { external_jobs.fetch_add(1, std::memory_order_acq_rel); }
void end_external_job() noexcept { external_jobs.fetch_sub(1, std::memory_order_acq_rel); }
}  // namespace detail

std::size_t pending_external_jobs() noexcept {
  return external_jobs.load(std::memory_order_acquire);
}

}  // namespace workbook
