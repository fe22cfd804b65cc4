// The measured line of a demo (see workbook/measured.hpp).
#include "workbook/measured.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "workbook/format.hpp"

namespace workbook {

std::string measured_line(std::string_view key, double value, std::string_view unit) {
  std::string number = format("%.1f", std::round(value * 10.0) / 10.0);
  if (number.ends_with(".0")) number.resize(number.size() - 2);
  if (number == "-0") number = "0";
  return format("measured: %.*s=%s %.*s", static_cast<int>(key.size()), key.data(), number.c_str(),
                static_cast<int>(unit.size()), unit.data());
}

void print_measured(std::string_view key, double value, std::string_view unit) {
  const std::string line = measured_line(key, value, unit);
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  const char* path = std::getenv("WORKBOOK_MEASURED_FILE");
  if (path == nullptr || *path == '\0') return;
  if (std::FILE* file = std::fopen(path, "a")) {
    std::fprintf(file, "%s\n", line.c_str());
    std::fclose(file);
  }
}

}  // namespace workbook
