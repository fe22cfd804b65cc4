# Runs a chapter's test built against its pitfall, and passes only if that test
# fails with the chapter's failure signature (from chapters/catalog.json).
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
if(rc EQUAL 0)
  message(FATAL_ERROR
    "${what}: the test passed against the pitfall code, but the pitfall must fail "
    "with \"${SIGNATURE}\".\nIs chapters/${CHAPTER} still the broken version? "
    "(It is the lesson's exhibit: it must stay broken.)\n--- test output ---\n${output}")
endif()
string(FIND "${output}" "${SIGNATURE}" at)
if(at EQUAL -1)
  message(FATAL_ERROR
    "${what}: the test failed against the pitfall code (exit ${rc}), but not with "
    "its failure signature \"${SIGNATURE}\": it failed for another reason.\n"
    "--- test output ---\n${output}")
endif()
# Show the line that carries the signature: it is the symptom the lesson is about.
string(SUBSTRING "${output}" ${at} 400 excerpt)
string(REGEX REPLACE "\n.*" "" excerpt "${excerpt}")
message(STATUS "${what}: the pitfall fails as it should: ${excerpt}")
