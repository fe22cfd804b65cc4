# A compile-fail test: builds one object target that must NOT compile, and
# passes only if the compiler rejects it with the expected diagnostic. The
# source's first line says what to expect:
#   // expect-error: <regular expression matched against the compiler's output>
# A compile-fail test that compiles is a failing test.
#
#   cmake -DBUILD_DIR=<dir> -DTARGET=<object target> -DSOURCE=<file> -P ExpectCompileFailure.cmake
file(STRINGS "${SOURCE}" first_line LIMIT_COUNT 1)
if(NOT first_line MATCHES "^// expect-error: (.+)$")
  message(FATAL_ERROR "${SOURCE}: the first line must be '// expect-error: <regex>', "
                      "naming the diagnostic the compiler must give")
endif()
set(expected "${CMAKE_MATCH_1}")
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target "${TARGET}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(output "${out}${err}")
if(rc EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but it must be rejected by the compiler with a "
                      "diagnostic matching '${expected}'.\n--- build output ---\n${output}")
endif()
if(NOT output MATCHES "${expected}")
  message(FATAL_ERROR "${SOURCE} failed to compile, but not with a diagnostic matching "
                      "'${expected}'.\n--- build output ---\n${output}")
endif()
string(REGEX MATCH "[^\n]*(${expected})[^\n]*" line "${output}")
message(STATUS "rejected as expected: ${line}")
