// Which build of a chapter this program is: its pitfall, its fix, or a
// learner's own attempt. Benchmarks and demos use it to label their output.
#pragma once

namespace workbook {

/// "pitfall", "fix" or "learner".
const char* variant_name() noexcept;

}  // namespace workbook
