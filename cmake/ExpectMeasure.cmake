# Runs a chapter's demo and passes only if it prints the figure its catalog
# entry's prediction question asks for: a line
#
#     measured: <KEY>=<number> <UNIT>
#
# (workbook::print_measured). ./workbook run NN compares the learner's guess
# with that figure; a key or unit the demo does not print (a typo in the
# catalog, a renamed key in the demo) would leave the question unanswered.
#
#   cmake -DBINARY=<demo binary> -DCHAPTER=<NN-slug> -DDEMO=<pitfall|fix>
#         -DKEY=<key> -DUNIT=<unit> -P ExpectMeasure.cmake
set(ENV{NO_COLOR} 1)
execute_process(COMMAND "${BINARY}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(what "chapter ${CHAPTER}'s ${DEMO} demo")
# A newline first, so that the first line is matched like the others.
if("\n${out}" MATCHES "\nmeasured: ${KEY}=([0-9]+(\\.[0-9]+)?) ([^\n]*)")
  set(value "${CMAKE_MATCH_1}")
  set(unit "${CMAKE_MATCH_3}")
  if(NOT unit STREQUAL UNIT)
    message(FATAL_ERROR "${what} prints \"measured: ${KEY}=${value} ${unit}\", but the "
      "catalog's predict.unit for it is \"${UNIT}\": the learner's guess would be compared "
      "in another unit. Make chapters/catalog.json and the demo's print_measured() agree.")
  endif()
  message(STATUS "${what} measures ${KEY}=${value} ${unit}")
  return()
endif()
string(REGEX MATCHALL "measured: [^\n]*" printed "${out}")
if(printed)
  list(JOIN printed "\n  " printed)
  set(printed "It prints:\n  ${printed}\n")
else()
  set(printed "It prints no \"measured:\" line at all.\n")
endif()
message(FATAL_ERROR "${what} (exit ${rc}) never prints \"measured: ${KEY}=<number> ${UNIT}\", "
  "the figure its prediction question (chapters/catalog.json, predict.measure \"${KEY}\") "
  "asks for. ${printed}"
  "Correct the catalog's predict.measure, or have the demo call "
  "workbook::print_measured(\"${KEY}\", value, \"${UNIT}\").\n"
  "--- demo output ---\n${out}${err}")
