# Runs a chapter's test program linked against one entry of the chapter's
# wrong-fix gallery (see docs/adding-a-chapter.md, "The wrong-fix gallery").
#   a wrong fix    passes when the program fails for the reason the entry's
#                  `// expect:` line names: a non-zero exit (the watchdog's
#                  deadlock exit, 86, counts), no crash signal, no timeout,
#                  and output that matches the expect regex. A wrong fix that
#                  passes is a hole in the chapter's test; one that fails
#                  another way teaches nothing about what is wrong.
#   an alternative passes when the program exits with 0: a correct design the
#                  lesson allows must be accepted.
#
#   cmake -DBINARY=<test program> -DENTRY=<entry .cpp> -DKIND=<wrong-fix|alternative>
#         -DTEST=<CTest name> -DTARGET=<target of BINARY> -DBUILD_DIR=<build tree>
#         -DTIMEOUT=<seconds> -P ExpectWrongFix.cmake
include("${CMAKE_CURRENT_LIST_DIR}/GalleryEntry.cmake")

# The last `count` lines of `text`: enough to show why, short enough to read.
function(_tail out text count)
  string(REGEX REPLACE "\n+$" "" text "${text}")
  set(rest "${text}")
  set(n 0)
  while(n LESS count)
    string(FIND "${rest}" "\n" at REVERSE)
    if(at EQUAL -1)
      set(${out} "${text}" PARENT_SCOPE)
      return()
    endif()
    string(SUBSTRING "${rest}" 0 ${at} rest)
    math(EXPR n "${n} + 1")
  endwhile()
  string(LENGTH "${rest}" skip)
  math(EXPR skip "${skip} + 1")
  string(SUBSTRING "${text}" ${skip} -1 tail)
  set(${out} "(... earlier lines left out)\n${tail}" PARENT_SCOPE)
endfunction()

file(RELATIVE_PATH entry "${CMAKE_CURRENT_LIST_DIR}/.." "${ENTRY}")
workbook_read_gallery_entry("${ENTRY}" "${KIND}" what expect error)
if(error)
  message(FATAL_ERROR "${TEST}: ${entry} is malformed: ${error}.")
endif()
if(NOT EXISTS "${BINARY}")
  message(FATAL_ERROR "${TEST}: the test program built with ${entry} does not exist "
    "(${BINARY}). The galleries are not part of the default build: build them with "
    "cmake --build ${BUILD_DIR} --target galleries (or only this one: --target ${TARGET}), "
    "or run ./workbook test --full, which does")
endif()

# The same variable for both streams keeps them in the order they were written.
execute_process(COMMAND "${BINARY}" --gtest_brief=1 TIMEOUT ${TIMEOUT}
  RESULT_VARIABLE rc OUTPUT_VARIABLE output ERROR_VARIABLE output)
_tail(tail "${output}" 30)
if(tail STREQUAL "")
  string(CONCAT tail "(nothing: what a program writes to a pipe is lost when it crashes or "
                     "is killed before flushing it. Run ${BINARY} yourself to see it.)")
endif()
# Indented lines are shown as they are; CMake reflows the others.
string(REPLACE "\n" "\n    " tail "    ${tail}")
set(shown "The last lines of the test's output:\n${tail}")
# With --gtest_brief GoogleTest lists no summary: name the failed tests, whose
# messages may be above the last lines.
string(REGEX MATCHALL "\\[  FAILED  \\] [A-Za-z0-9_/.]+" failed "${output}")
if(failed)
  list(REMOVE_DUPLICATES failed)
  list(TRANSFORM failed REPLACE "^\\[  FAILED  \\] " "")
  list(JOIN failed ", " failed)
  set(shown "The tests that failed: ${failed}.\n${shown}")
endif()

if(rc MATCHES "timeout")
  message(FATAL_ERROR "${TEST}: the test program did not finish within ${TIMEOUT} s "
    "(${entry}: \"${what}\"). A gallery entry must end with a verdict: a wrong fix must fail with "
    "a message naming what is wrong, an alternative must pass; a test that can hang needs a "
    "workbook::Watchdog, whose deadlock report is a failure with a message.\n${shown}")
elseif(NOT rc MATCHES "^[0-9]+$")
  message(FATAL_ERROR "${TEST}: the test program crashed (${rc}) (${entry}: \"${what}\"). A crash "
    "tells the learner nothing about what is wrong; the test must catch this case and fail "
    "with a message instead.\n${shown}")
endif()

if(KIND STREQUAL "alternative")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${TEST}: the chapter's test rejects a correct fix (exit ${rc}). "
      "${entry} says: \"${what}\". The test must accept every correct design the lesson "
      "allows (report slowness that is still correct as its own finding, not as a failure); "
      "if this design is wrong after all, move it to wrong-fixes/ with a WRONG and an expect "
      "line.\n${shown}")
  endif()
  message(STATUS "${TEST}: the correct alternative passes, as it should")
  return()
endif()

if(rc EQUAL 0)
  message(FATAL_ERROR "${TEST}: the chapter's test PASSED against a wrong fix, so it would give "
    "a passing grade for it. ${entry} says: \"${what}\". Make the test fail on it with a "
    "message matching \"${expect}\".\n${shown}")
endif()
if(NOT output MATCHES "${expect}")
  message(FATAL_ERROR "${TEST}: the test failed against the wrong fix (exit ${rc}), but its "
    "output does not match the entry's expect regex \"${expect}\": it failed for another "
    "reason than the one ${entry} names (\"${what}\"), or the message changed. Read the "
    "output below: fix the test's message or the entry's expect line.\n${shown}")
endif()
# Show the line that names what is wrong.
string(REGEX MATCH "[^\n]*(${expect})[^\n]*" line "${output}")
message(STATUS "${TEST}: fails as it should (exit ${rc}): ${line}")
