// The one figure a demo measures for its chapter's prediction question.
//
// Each chapter's catalog entry asks the learner to predict a number before
// `./workbook run NN` shows the demo ("8 reads of 20 ms, one after another:
// how long?"). The demo prints that number, as it measured it, on a line of
// its own that a learner reads and the tool parses:
//
//     measured: read_time=161 ms
//
// The key and the unit are the catalog's "predict" "measure" and "unit"; the
// CTest test NN-slug/predict checks that the demo prints them.
#pragma once

#include <string>
#include <string_view>

namespace workbook {

/// The line for `key` = `value` `unit`, without its newline: the value
/// rounded to one decimal, and without ".0" when it is whole ("161", "5.2").
std::string measured_line(std::string_view key, double value, std::string_view unit);

/// Prints measured_line() on stdout. If the environment variable
/// WORKBOOK_MEASURED_FILE names a file (./workbook run sets it), appends the
/// line there too, so the tool reads the figure while stdout stays the
/// learner's terminal.
void print_measured(std::string_view key, double value, std::string_view unit);

}  // namespace workbook
