// printf-style formatting for the sentences a test prints when it fails
// ("3 reads took 30.0 ms; expected at most 10 ms"). g++ 12 has no <format>,
// and a fixed buffer would cut a long message short: this one is sized to fit.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

namespace workbook {

/// `pattern` with `args` formatted as std::snprintf does, whole.
template <typename... Args>
std::string format(const char* pattern, Args... args) {
  const int size = std::snprintf(nullptr, 0, pattern, args...);
  if (size < 0) return pattern;  // an encoding error: the pattern is still worth showing
  std::string text(static_cast<std::size_t>(size), '\0');
  // Writes the terminating '\0' over the one std::string keeps after its last character.
  std::snprintf(text.data(), text.size() + 1, pattern, args...);
  return text;
}

}  // namespace workbook
