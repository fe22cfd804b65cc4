# Runs a chapter's test built against its pitfall, and passes only if that test
# fails with the chapter's failure signature (from chapters/catalog.json), or
# with every one of its signatures (the catalog's "signatures": a pitfall that
# combines several mistakes must show each), passed joined by the ASCII unit
# separator (character 31).
# A pitfall test that passes, or fails for another reason (a crash, a different
# assertion), means the lesson no longer shows what it says it shows.
#
#   cmake -DBINARY=<test binary> -DCHAPTER=<NN-slug> -DSIGNATURE=<text> [-DUNDER=<sanitizer>]
#         -P ExpectFailure.cmake
#
# UNDER names the sanitizer the binary was built with, when the signature is
# that sanitizer's report (catalog field "sanitizer_signatures").
execute_process(COMMAND "${BINARY}" --gtest_brief=1
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(output "${out}${err}")
set(what "chapter ${CHAPTER}")
if(UNDER)
  set(what "chapter ${CHAPTER} (built with ${UNDER})")
endif()
string(ASCII 31 separator)
string(REPLACE "${separator}" "\" and \"" shown "${SIGNATURE}")
if(rc EQUAL 0)
  message(FATAL_ERROR
    "${what}: the test passed against the pitfall code, but the pitfall must fail "
    "with \"${shown}\".\nIs chapters/${CHAPTER} still the broken version? "
    "(It is the lesson's exhibit: it must stay broken.)\n--- test output ---\n${output}")
endif()
# Each signature in turn (not a CMake list: a signature may hold a ';').
set(rest "${SIGNATURE}")
set(missing "")
set(found "")
set(total 0)
while(NOT rest STREQUAL "")
  string(FIND "${rest}" "${separator}" cut)
  if(cut EQUAL -1)
    set(one "${rest}")
    set(rest "")
  else()
    string(SUBSTRING "${rest}" 0 ${cut} one)
    math(EXPR after "${cut} + 1")
    string(SUBSTRING "${rest}" ${after} -1 rest)
  endif()
  math(EXPR total "${total} + 1")
  string(FIND "${output}" "${one}" at)
  if(at EQUAL -1)
    string(APPEND missing "\n  \"${one}\"")
  else()
    # The line that carries the signature: it is the symptom the lesson is about.
    string(SUBSTRING "${output}" ${at} 400 excerpt)
    string(REGEX REPLACE "\n.*" "" excerpt "${excerpt}")
    string(APPEND found "\n  ${excerpt}")
  endif()
endwhile()
if(total EQUAL 1 AND NOT missing STREQUAL "")
  message(FATAL_ERROR
    "${what}: the test failed against the pitfall code (exit ${rc}), but not with "
    "its failure signature \"${SIGNATURE}\": it failed for another reason.\n"
    "--- test output ---\n${output}")
endif()
if(NOT missing STREQUAL "")
  message(FATAL_ERROR
    "${what}: the test failed against the pitfall code (exit ${rc}), but not with every one "
    "of its ${total} failure signatures; missing:${missing}\nEach names a mistake the pitfall "
    "combines: its test no longer shows it, or the pitfall no longer makes it.\n"
    "--- test output ---\n${output}")
endif()
if(total EQUAL 1)
  string(STRIP "${found}" found)
  message(STATUS "${what}: the pitfall fails as it should: ${found}")
else()
  message(STATUS "${what}: the pitfall fails as it should, with all ${total} signatures:${found}")
endif()
