// Compiled once per variant, with WORKBOOK_VARIANT set by the build.
#include "workbook/variant.hpp"

namespace workbook {

const char* variant_name() noexcept { return WORKBOOK_VARIANT; }

}  // namespace workbook
