// The line a demo prints for its chapter's prediction question: rounded to one
// decimal, whole numbers without ".0", and appended to WORKBOOK_MEASURED_FILE
// when ./workbook run asks for it.
#include "workbook/measured.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace {

TEST(MeasuredLine, SaysKeyValueAndUnit) {
  EXPECT_EQ(workbook::measured_line("read_time", 160.84, "ms"), "measured: read_time=160.8 ms");
}

TEST(MeasuredLine, WholeNumbersHaveNoDecimal) {
  EXPECT_EQ(workbook::measured_line("reads", 544, "reads"), "measured: reads=544 reads");
  EXPECT_EQ(workbook::measured_line("read_time", 20.04, "ms"), "measured: read_time=20 ms");
  EXPECT_EQ(workbook::measured_line("notes_saved", 0, "notes"), "measured: notes_saved=0 notes");
  EXPECT_EQ(workbook::measured_line("notes_saved", -0.01, "notes"),
            "measured: notes_saved=0 notes");
}

TEST(PrintMeasured, AppendsTheLineToTheFileTheToolNames) {
  char path[] = "/tmp/workbook-measured-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  ASSERT_EQ(setenv("WORKBOOK_MEASURED_FILE", path, 1), 0);
  testing::internal::CaptureStdout();
  workbook::print_measured("read_time", 161, "ms");
  workbook::print_measured("max_in_flight", 8, "reads");
  const std::string printed = testing::internal::GetCapturedStdout();
  unsetenv("WORKBOOK_MEASURED_FILE");
  std::ostringstream kept;
  kept << std::ifstream(path).rdbuf();
  std::remove(path);
  const std::string expected = "measured: read_time=161 ms\nmeasured: max_in_flight=8 reads\n";
  EXPECT_EQ(printed, expected);
  EXPECT_EQ(kept.str(), expected);
}

}  // namespace
