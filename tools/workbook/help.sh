# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# help
# ---------------------------------------------------------------------------

usage() {
  cat <<EOF
usage: ./workbook [<command> [arguments]]

The async-patterns workbook: C++20 coroutine patterns for database code on Boost.Asio.

working through the book (your copies and progress live in my-work/):
  list                 every chapter and your progress (what ./workbook alone does)
  start NN             your own copy of chapter NN's broken code, and what to read
  check NN             build and test your copy of chapter NN
  hint NN              chapter NN's next hint, one at a time
  watch [NN] [--poll]  check again on every save (Ctrl-C stops)
  reset NN [--yes]     put the broken code back in your copy (yours goes to my-work/.trash)
  run NN               predict a figure, then chapter NN's pitfall, fix (and your) demos measure it
  solution NN [--force]       the diff from the broken to the fixed code
  bench NN|--all [--quick]    benchmark pitfall against fix: table, legend, JSON, plot
  bench NN --mine      the same with your copy beside them
  report [--grade] [--junit F] [--json F] [--gradescope F]
                       grade every chapter of the catalog (--grade: read-only)
  doctor               which tools are installed, and how to install the others

the workbook itself:
  prepare              build everything a lab needs now (for instructors: before the class)
  tour [NN]            build, then run each chapter's pitfall and fix demos (or chapter NN only)
  test [-- ARGS]       build, check the code format and run the test suite (ARGS go to ctest)
  format               reformat the C++ sources with clang-format
  flaky [--repeat N]   run every test N times (default 20) and report any that is not steady
  lint [--fix]         run clang-tidy on the sources (only files changed since they passed)
  snippets [--fix]     check (or rewrite) the code quoted in the lessons against its sources
  timings [--fresh]    how long test and check take, against the README's targets
  docs [--student] [--check]  build the documentation site (or its student edition), check it in a browser
  help [COMMAND]       show this help, or one command's help

for instructors (docs/classroom.md):
  class-report DIR     a class's report --json files in one table (Markdown and HTML)
  autograding [--write|--check|--run]  GitHub Classroom's tests, made from the catalog

Run ./workbook <command> --help for the details of a command.

environment:
  WORKBOOK_PRESET       the CMake preset to build with (default: default; see CMakePresets.json)
  WORKBOOK_BUILD_DIR    another build tree for it (default: build/<preset>)
  WORKBOOK_LEARNER_DIR  where your copies and progress live (default: my-work)
  NO_COLOR              set to turn off colour

exit codes: 0 success, 1 a build, demo, test or check failed (or was refused),
            2 wrong usage, 3 dependencies missing
EOF
}

help_help() { usage; }

cmd_help() {
  if [[ $# -eq 0 ]]; then
    usage
  elif is_command "$1"; then
    "help_${1//-/_}"
  else
    error "unknown command '$1'"
    die 2 "run ./workbook help for the list of commands"
  fi
}
