#include "workbook/timeline.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace workbook {
namespace {

using std::chrono::milliseconds;

Span make_span(std::string operation, std::string key, int start_ms, std::optional<int> end_ms,
               Outcome outcome, std::string detail = {}) {
  Span s;
  s.operation = std::move(operation);
  s.key = std::move(key);
  s.start = Clock::time_point{} + milliseconds(start_ms);
  if (end_ms) s.end = Clock::time_point{} + milliseconds(*end_ms);
  s.outcome = outcome;
  s.detail = std::move(detail);
  return s;
}

TimelineOptions plain(int width, std::string title = {}) {
  TimelineOptions o;
  o.width = width;
  o.color = false;
  o.title = std::move(title);
  return o;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Terminal columns of a line without escape codes: one per UTF-8 code point.
int columns(const std::string& s) {
  int n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Sets or unsets an environment variable for one test, restoring it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::vector<Span> sequential() {
  return {make_span("read", "notes/1", 0, 10, Outcome::ok),
          make_span("read", "notes/2", 10, 20, Outcome::ok),
          make_span("read", "notes/3", 20, 30, Outcome::failed, "connection reset")};
}

std::vector<Span> mixed() {
  return {make_span("read", "notes/1", 0, 10, Outcome::ok),
          make_span("query", std::string(150, 'x'), 5, 25, Outcome::failed,
                    "server closed the connection unexpectedly while reading the result set"),
          make_span("write", "notes/2", 12, 18, Outcome::cancelled),
          make_span("connect", "db", 20, std::nullopt, Outcome::pending),
          make_span("read", "notes/3", 30, 30, Outcome::ok)};
}

bool has_escape(const std::string& s) { return s.find('\x1b') != std::string::npos; }

TEST(Timeline, SequentialExact) {
  const std::vector<Span> spans = sequential();
  EXPECT_EQ(render_timeline(spans, plain(80, "sequential")),
            "sequential\n"
            "read notes/1 |██████████                     |  10.0 ms ok\n"
            "read notes/2 |          ███████████          |  10.0 ms ok\n"
            "read notes/3 |                     ▓▓▓▓▓▓▓▓▓▓|  10.0 ms failed: connection reset\n"
            "              0 ms                     30.0 ms\n");
}

TEST(Timeline, OverlappingExactInStartOrder) {
  const std::vector<Span> spans = {make_span("read", "notes/2", 2, 12, Outcome::ok),
                                   make_span("read", "notes/1", 0, 10, Outcome::ok),
                                   make_span("read", "notes/3", 4, 8, Outcome::cancelled)};
  EXPECT_EQ(render_timeline(spans, plain(60)),
            "read notes/1 |██████████████████████    |  10.0 ms ok\n"
            "read notes/2 |    ██████████████████████|  10.0 ms ok\n"
            "read notes/3 |         ░░░░░░░░         |   4.0 ms cancelled\n"
            "              0 ms                12.0 ms\n");
}

TEST(Timeline, QueuedPartIsDotted) {
  // Two places on the database: the third read waits 10 ms, then works 10 ms.
  std::vector<Span> spans = {make_span("read", "notes/1", 0, 10, Outcome::ok),
                             make_span("read", "notes/2", 0, 10, Outcome::ok),
                             make_span("read", "notes/3", 0, 20, Outcome::ok)};
  spans[2].links.queued = milliseconds(10);
  EXPECT_EQ(render_timeline(spans, plain(60)),
            "read notes/1 |█████████████████                |  10.0 ms ok\n"
            "read notes/2 |█████████████████                |  10.0 ms ok\n"
            "read notes/3 |·················████████████████|  20.0 ms ok\n"
            "              0 ms                       20.0 ms\n");
}

TEST(Timeline, ColorOnUsesEscapeCodes) {
  const std::vector<Span> spans = mixed();
  TimelineOptions o = plain(80);
  o.color = true;
  const std::string out = render_timeline(spans, o);
  EXPECT_NE(out.find("\x1b[32m"), std::string::npos);  // ok: green
  EXPECT_NE(out.find("\x1b[31m"), std::string::npos);  // failed: red
  EXPECT_NE(out.find("\x1b[33m"), std::string::npos);  // cancelled: yellow
  EXPECT_NE(out.find("\x1b[2m"), std::string::npos);   // pending: dim
  EXPECT_NE(out.find("\x1b[0m"), std::string::npos);
}

TEST(Timeline, ColorOffHasNoEscapeBytes) {
  std::vector<Span> spans = mixed();
  spans.push_back(make_span("read", "evil\x1b[31mkey", 1, 2, Outcome::failed, "bad\x1b[0m\nline"));
  const std::string out = render_timeline(spans, plain(80));
  EXPECT_FALSE(has_escape(out));
  EXPECT_EQ(lines_of(out).size(), spans.size() + 1);  // Newlines in text don't add rows.
}

TEST(Timeline, NoColorDisablesDetectedColor) {
  const std::vector<Span> spans = sequential();
  TimelineOptions o;
  o.width = 80;  // color left empty: detected.
  {
    ScopedEnv env("NO_COLOR", "1");
    EXPECT_FALSE(detect_color());
    EXPECT_FALSE(has_escape(render_timeline(spans, o)));
  }
  {
    ScopedEnv env("NO_COLOR", "");  // Empty counts as unset.
    EXPECT_EQ(detect_color(), ::isatty(STDOUT_FILENO) != 0);
  }
  {
    ScopedEnv env("NO_COLOR", nullptr);
    EXPECT_EQ(detect_color(), ::isatty(STDOUT_FILENO) != 0);
    EXPECT_EQ(has_escape(render_timeline(spans, o)), ::isatty(STDOUT_FILENO) != 0);
  }
}

TEST(Timeline, DetectWidthReadsColumnsAndClamps) {
  {
    ScopedEnv env("COLUMNS", "100");
    EXPECT_EQ(detect_width(), 100);
  }
  {
    ScopedEnv env("COLUMNS", "10");
    EXPECT_EQ(detect_width(), 40);
  }
  {
    ScopedEnv env("COLUMNS", "1000");
    EXPECT_EQ(detect_width(), 200);
  }
  {
    ScopedEnv env("COLUMNS", "wide");
    EXPECT_GE(detect_width(), 40);
    EXPECT_LE(detect_width(), 200);
  }
}

TEST(Timeline, LongLabelsTruncatedWithEllipsis) {
  const std::vector<Span> spans = {make_span(
      "query", "SELECT * FROM notes WHERE owner = 42 AND archived = false", 0, 10, Outcome::ok)};
  const std::vector<std::string> lines = lines_of(render_timeline(spans, plain(80)));
  ASSERT_EQ(lines.size(), 2u);
  const std::string label = lines[0].substr(0, lines[0].find(" |"));
  EXPECT_EQ(label, "query SELECT * FROM notes WHERE…");  // 40% of 80 columns.
  EXPECT_EQ(columns(label), 32);
}

TEST(Timeline, EveryLineFitsWidth) {
  const std::vector<Span> spans = mixed();
  for (int width : {40, 80, 120}) {
    for (bool color : {false, true}) {
      TimelineOptions o = plain(width, std::string(300, 't'));
      o.color = color;
      std::string out = render_timeline(spans, o);
      // Escape codes take no columns.
      for (std::size_t at = 0; (at = out.find('\x1b')) != std::string::npos;) {
        out.erase(at, out.find('m', at) - at + 1);
      }
      const std::vector<std::string> lines = lines_of(out);
      EXPECT_EQ(lines.size(), spans.size() + 2);
      for (const std::string& line : lines) {
        EXPECT_LE(columns(line), width) << "width " << width << ": " << line;
      }
    }
  }
}

TEST(Timeline, PendingSpanIsOpenEnded) {
  const std::vector<Span> spans = {
      make_span("read", "notes/1", 0, 40, Outcome::ok),
      make_span("query", "SELECT 1", 20, std::nullopt, Outcome::pending)};
  const std::vector<std::string> lines = lines_of(render_timeline(spans, plain(60)));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[1].find("░>| pending"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("40.0 ms"), std::string::npos) << lines[2];
}

TEST(Timeline, EmptyInput) {
  EXPECT_EQ(render_timeline({}, plain(80)), "(no operations recorded)\n");
}

TEST(Timeline, ZeroTotalDurationDrawsOneCellEach) {
  const std::vector<Span> spans = {make_span("read", "a", 5, 5, Outcome::ok),
                                   make_span("read", "b", 5, 5, Outcome::failed)};
  const std::vector<std::string> lines = lines_of(render_timeline(spans, plain(40)));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("|█ "), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("|▓ "), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("0.0 ms"), std::string::npos) << lines[2];
}

}  // namespace
}  // namespace workbook
