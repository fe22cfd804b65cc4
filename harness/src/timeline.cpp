#include "workbook/timeline.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#if __has_include(<unistd.h>) && __has_include(<sys/ioctl.h>)
#include <sys/ioctl.h>
#include <unistd.h>
#define WORKBOOK_TIMELINE_POSIX 1  // NOLINT(cppcoreguidelines-macro-usage): used by #if
#endif

namespace workbook {
namespace {

constexpr int kMinWidth = 40;
constexpr int kMaxWidth = 200;
constexpr int kMinBar = 20;
// Below this a label is just an ellipsis, so keep a few characters even if the
// suffix then has to be cut short on the narrowest terminals.
constexpr int kMinLabel = 4;
constexpr std::string_view kEllipsis = "…";

constexpr std::string_view kReset = "\x1b[0m";

// Columns, counted in code points: the box-drawing characters and the ellipsis
// are three bytes in UTF-8 but one column on the terminal.
int columns(std::string_view s) {
  int n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// The first `cols` code points of `s`, ending in "…" if anything was cut.
std::string truncate(std::string_view s, int cols) {
  if (columns(s) <= cols) return std::string(s);
  if (cols <= 0) return {};
  std::string out;
  int n = 0;
  for (const char c : s) {
    const bool starts_code_point = (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    if (starts_code_point && ++n == cols) break;
    out += c;
  }
  out += kEllipsis;
  return out;
}

std::string pad_right(std::string s, int cols) {
  s.append(static_cast<std::size_t>(std::max(0, cols - columns(s))), ' ');
  return s;
}

std::string pad_left(const std::string& s, int cols) {
  return std::string(static_cast<std::size_t>(std::max(0, cols - columns(s))), ' ') + s;
}

// SQL keys may span lines, and an ESC in user text would defeat color=false.
std::string sanitize(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) c = ' ';
  }
  return out;
}

std::string format_ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", ms);
  return buf;
}

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// A span's queued part: waiting, not working.
constexpr std::string_view kQueuedGlyph = "·";

std::string_view glyph(Outcome o) {
  switch (o) {
    case Outcome::ok:
      return "█";
    case Outcome::failed:
      return "▓";
    case Outcome::cancelled:
    case Outcome::pending:
      break;
  }
  return "░";
}

std::string_view color_code(Outcome o) {
  switch (o) {
    case Outcome::ok:
      return "\x1b[32m";
    case Outcome::failed:
      return "\x1b[31m";
    case Outcome::cancelled:
      return "\x1b[33m";
    case Outcome::pending:
      break;
  }
  return "\x1b[2m";
}

// One chart row before the bar width is known.
struct Row {
  const Span* span;
  std::string label;
  std::string duration;  // Empty for open-ended spans.
  std::string outcome;   // The word, e.g. "failed".
  std::string detail;    // ": message" for failed spans with a message.
};

}  // namespace

int detect_width() {
  int width = 0;
  if (const char* env = std::getenv("COLUMNS"); env != nullptr) {
    const std::string_view text(env);
    int value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc{} && end == text.data() + text.size() && value > 0) width = value;
  }
#ifdef WORKBOOK_TIMELINE_POSIX
  if (width == 0) {
    winsize ws{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) width = ws.ws_col;
  }
#endif
  if (width == 0) width = 80;
  return std::clamp(width, kMinWidth, kMaxWidth);
}

bool detect_color() {
#ifdef WORKBOOK_TIMELINE_POSIX
  const char* no_color = std::getenv("NO_COLOR");
  return ::isatty(STDOUT_FILENO) != 0 && (no_color == nullptr || *no_color == '\0');
#else
  return false;
#endif
}

std::string render_timeline(std::span<const Span> spans, const TimelineOptions& options) {
  const int width =
      options.width == 0 ? detect_width() : std::clamp(options.width, kMinWidth, kMaxWidth);
  const bool color = options.color.value_or(false) || (!options.color && detect_color());

  std::string out;
  if (!options.title.empty()) out += truncate(sanitize(options.title), width) + '\n';
  if (spans.empty()) return out + "(no operations recorded)\n";

  std::vector<const Span*> sorted;
  for (const Span& s : spans) sorted.push_back(&s);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Span* a, const Span* b) { return a->start < b->start; });

  const Clock::time_point origin = sorted.front()->start;
  Clock::time_point latest = origin;
  for (const Span* s : sorted) latest = std::max({latest, s->start, s->end.value_or(s->start)});
  const double total_ms = ms_between(origin, latest);

  std::vector<Row> rows;
  int longest_label = 0;
  int duration_width = 5;  // Aligns the usual "999.9" and below.
  for (const Span* s : sorted) {
    Row row{s,
            sanitize(s->key.empty() ? s->operation : s->operation + " " + s->key),
            {},
            to_string(s->outcome),
            {}};
    if (s->end) {
      row.duration = format_ms(std::max(0.0, ms_between(s->start, *s->end)));
      duration_width = std::max(duration_width, columns(row.duration));
    }
    if (s->outcome == Outcome::failed && !s->detail.empty())
      row.detail = ": " + sanitize(s->detail);
    if (s->outcome == Outcome::cancelled && !s->cancel_reason.empty())
      row.detail = ": " + sanitize(s->cancel_reason);
    longest_label = std::max(longest_label, columns(row.label));
    rows.push_back(std::move(row));
  }

  // The suffix after the bar: " <duration> ms <outcome>[: detail]".
  bool show_durations = true;
  auto base_suffix = [&](const Row& r) {
    return !show_durations || r.duration.empty()
               ? " " + r.outcome
               : " " + pad_left(r.duration, duration_width) + " ms " + r.outcome;
  };

  // Layout: label, " |", bar, "|", suffix. The label gets at most 40% and must
  // leave kMinBar columns for the bar; the bar takes what the suffixes leave, but
  // at least half of what is left after the base suffixes, so one long error
  // message cannot squeeze the chart.
  int suffix_base = 0;  // Widest suffix without details: never cut if avoidable.
  int label_width = 0;
  int bar_width = 0;
  int suffix_width = 0;
  auto lay_out = [&] {
    int suffix_full = 0;  // Widest suffix with details: shown whole if there is room.
    suffix_base = 0;
    for (const Row& r : rows) {
      const int base = columns(base_suffix(r));
      suffix_base = std::max(suffix_base, base);
      suffix_full = std::max(suffix_full, base + columns(r.detail));
    }
    label_width = std::min(
        {longest_label, width * 2 / 5, std::max(width - 3 - kMinBar - suffix_base, kMinLabel)});
    const int avail = width - 3 - label_width;
    bar_width =
        std::clamp(std::max(avail - suffix_full, (avail - suffix_base + 1) / 2), kMinBar, avail);
    suffix_width = avail - bar_width;
  };
  lay_out();
  // On the narrowest terminals the outcome word matters more than the duration.
  if (suffix_width < suffix_base) {
    show_durations = false;
    lay_out();
  }

  // Rounding both ends keeps back-to-back spans contiguous without overlap.
  auto column_of = [&](Clock::time_point t) {
    if (total_ms <= 0) return 0;  // All spans instant: everything at column 0.
    return static_cast<int>(std::lround(ms_between(origin, t) / total_ms * bar_width));
  };

  for (const Row& r : rows) {
    const Span& s = *r.span;
    const bool open = !s.end.has_value();
    const int first = std::min(column_of(s.start), bar_width - 1);
    const int last =  // One past the last cell; at least one cell per span.
        std::clamp(open ? bar_width : column_of(*s.end), first + 1, bar_width);

    std::string bar(static_cast<std::size_t>(first), ' ');
    if (color) bar += color_code(s.outcome);
    // The part of the span spent queued (SpanLinks::queued) is drawn as dots.
    const int work_starts = s.links.queued > Clock::duration::zero()
                                ? std::clamp(column_of(s.start + s.links.queued), first, last - 1)
                                : first;
    for (int c = first; c < last; ++c) {
      bar += open && c == last - 1 ? ">" : c < work_starts ? kQueuedGlyph : glyph(s.outcome);
    }
    if (color) bar += kReset;
    bar.append(static_cast<std::size_t>(bar_width - last), ' ');

    out += pad_right(truncate(r.label, label_width), label_width) + " |" + bar + "|" +
           truncate(base_suffix(r) + r.detail, suffix_width) + '\n';
  }

  // The axis: "0 ms" under the first bar column, the total ending under the
  // closing '|'.
  const std::string zero = "0 ms";
  const std::string end = format_ms(total_ms) + " ms";
  const int span_cols = bar_width + 1;
  std::string axis(static_cast<std::size_t>(label_width + 2), ' ');
  if (columns(zero) + 1 + columns(end) <= span_cols) {
    axis += zero + pad_left(end, span_cols - columns(zero));
  } else {
    axis += pad_left(truncate(end, span_cols), span_cols);
  }
  out += axis + '\n';
  return out;
}

}  // namespace workbook
