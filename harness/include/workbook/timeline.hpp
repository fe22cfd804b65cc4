// A text Gantt chart of trace spans, printed by demos to the terminal, so a
// learner sees at a glance whether database operations ran one after another
// or overlapped.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "workbook/trace.hpp"

namespace workbook {

/// How render_timeline() lays out and decorates the chart.
struct TimelineOptions {
  /// Total columns of every output line; 0 means detect_width(). Other values are
  /// clamped to [40, 200].
  int width = 0;
  /// Whether to colour the bars with ANSI escape codes; empty means detect_color().
  std::optional<bool> color;
  /// A heading line printed above the chart; omitted when empty.
  std::string title;
};

/// Renders `spans` as a Gantt chart, one row per span in start order.
///
/// Each row is `label |bar| duration outcome`. Time zero is the earliest start,
/// the axis ends at the latest time seen; spans without an end (pending) run to
/// the axis end and finish with `>`. Bars are `█` ok, `▓` failed, `░` cancelled or
/// pending; the part of a span spent queued (SpanLinks::queued) is `·`. Every line, including the
/// axis line under the rows, ends with '\n' and is at most the width in columns (counted in code
/// points). No spans renders the single line "(no operations recorded)". With colour off the result
/// contains no escape bytes; control characters in labels and details are replaced by spaces so
/// they cannot break the layout.
std::string render_timeline(std::span<const Span> spans, const TimelineOptions& options = {});

/// The terminal width: the COLUMNS environment variable if it is a positive
/// number, else the width of the terminal on stdout, else 80; clamped to [40, 200].
int detect_width();

/// True if stdout is a terminal and NO_COLOR is unset or empty
/// (https://no-color.org).
bool detect_color();

}  // namespace workbook
