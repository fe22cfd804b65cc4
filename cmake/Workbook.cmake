# How the workbook builds a chapter. Everything a chapter is made of is found
# by name from chapters/catalog.json: adding chapter NN means adding its
# catalog entry and its directories, and nothing here.
#
# For a chapter NN-slug whose catalog entry lists its exercise files:
#   chapters/NN-slug/<files>   -> library chNN_pitfall   (the broken code)
#   solutions/NN-slug/<files>  -> library chNN_fix       (the fixed code)
#   my-work/NN-slug/<files>    -> library chNN_learner   (if the learner started it)
#   chapters/NN-slug/demo.cpp  -> chNN_demo_<variant>
#   tests/NN-slug/*.cpp        -> chNN_test_<variant>    (one GoogleTest suite)
#   benchmarks/NN-slug/*.cpp   -> chNN_bench_<variant>   (one Google Benchmark program)
# and the CTest tests NN-slug/fix (must pass), NN-slug/pitfall (must fail with
# the catalog's failure signature), NN-slug/demo and NN-slug/bench-smoke.
# For ./workbook (bash, no JSON parser) it writes build/<preset>/chapters.tsv
# and build/<preset>/catalog/NN.hints from the catalog at configure time.

set(WORKBOOK_CATALOG "${PROJECT_SOURCE_DIR}/chapters/catalog.json")
set(WORKBOOK_LEARNER_DIR "${PROJECT_SOURCE_DIR}/my-work" CACHE PATH
    "Where ./workbook start puts the learner's own copies of the chapters")
option(WORKBOOK_PCH "Use precompiled headers" ON)
set(WORKBOOK_ONLY_CHAPTERS "" CACHE STRING
    "Build only these chapters (a list of ids such as 01;03); empty means all")
set(WORKBOOK_TEST_TIMEOUT 60 CACHE STRING "CTest timeout per test, in seconds")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${WORKBOOK_CATALOG}")

# Shares one precompiled header among all targets.
add_library(workbook_pch OBJECT "${CMAKE_CURRENT_LIST_DIR}/pch.cpp")
target_link_libraries(workbook_pch PRIVATE Boost::headers Boost::json)
target_compile_definitions(workbook_pch PRIVATE
  BOOST_ASIO_SEPARATE_COMPILATION BOOST_ASIO_NO_DEPRECATED)
if(WORKBOOK_PCH)
  target_precompile_headers(workbook_pch PRIVATE "${CMAKE_CURRENT_LIST_DIR}/pch.hpp")
endif()

# Tests get a header of their own: GoogleTest changes the compile definitions.
add_library(workbook_test_pch OBJECT "${CMAKE_CURRENT_LIST_DIR}/pch.cpp")
target_link_libraries(workbook_test_pch PRIVATE Boost::headers Boost::json GTest::gmock)
target_compile_definitions(workbook_test_pch PRIVATE
  BOOST_ASIO_SEPARATE_COMPILATION BOOST_ASIO_NO_DEPRECATED)
if(WORKBOOK_PCH)
  target_precompile_headers(workbook_test_pch PRIVATE
    "${CMAKE_CURRENT_LIST_DIR}/pch.hpp" <gmock/gmock.h> <gtest/gtest.h>)
endif()

function(workbook_use_pch target)
  if(WORKBOOK_PCH)
    target_precompile_headers(${target} REUSE_FROM workbook_pch)
  endif()
endfunction()

function(workbook_use_test_pch target)
  if(WORKBOOK_PCH)
    target_precompile_headers(${target} REUSE_FROM workbook_test_pch)
  endif()
endfunction()

# Reads one field of chapter entry `index` into `out`; a missing field stops
# the configuration with a message that names the entry and the field.
function(_workbook_field out index field)
  string(JSON value ERROR_VARIABLE error GET "${_WORKBOOK_JSON}" chapters ${index} ${field})
  if(error)
    string(JSON id ERROR_VARIABLE ignored GET "${_WORKBOOK_JSON}" chapters ${index} id)
    message(FATAL_ERROR "chapters/catalog.json: chapter entry ${index} (id \"${id}\") has no "
      "\"${field}\". Every chapter needs id, slug, title, seed_section, files, signature, "
      "hints and benchmark (see docs/adding-a-chapter.md).")
  endif()
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

# Reads the catalog into _WORKBOOK_JSON (in the caller's scope) and its number
# of chapters into `count`, or stops with a message saying what is wrong.
macro(_workbook_read_catalog count)
  file(READ "${WORKBOOK_CATALOG}" _WORKBOOK_JSON)
  string(JSON ${count} ERROR_VARIABLE _workbook_error LENGTH "${_WORKBOOK_JSON}" chapters)
  if(_workbook_error)
    message(FATAL_ERROR "chapters/catalog.json cannot be read: ${_workbook_error}\n"
      "It must be a JSON object whose \"chapters\" is a list of chapter entries; fix the "
      "place named above (a missing comma or quote, most often).")
  endif()
endmacro()

# Writes chapter `index`'s hints to build/<preset>/catalog/<id>.hints, one per
# line, for ./workbook hint; `out` receives how many there are.
function(_workbook_write_hints out index id)
  string(JSON count LENGTH "${_WORKBOOK_JSON}" chapters ${index} hints)
  set(text "")
  if(count GREATER 0)
    math(EXPR last "${count} - 1")
    foreach(h RANGE ${last})
      string(JSON hint GET "${_WORKBOOK_JSON}" chapters ${index} hints ${h})
      string(REPLACE "\n" " " hint "${hint}")
      string(APPEND text "${hint}\n")
    endforeach()
  endif()
  file(WRITE "${PROJECT_BINARY_DIR}/catalog/${id}.hints" "${text}")
  set(${out} ${count} PARENT_SCOPE)
endfunction()

# The flakiness meter (./workbook flaky) reads build/<preset>/flaky.tsv: one
# line per GoogleTest binary ("gtest") and per pitfall check ("pitfall").
function(workbook_register_flaky kind name target signature)
  set_property(GLOBAL APPEND PROPERTY WORKBOOK_FLAKY
    "${kind}\t${name}\t$<TARGET_FILE:${target}>\t${signature}")
endfunction()

function(workbook_write_flaky_list)
  get_property(entries GLOBAL PROPERTY WORKBOOK_FLAKY)
  list(JOIN entries "\n" text)
  file(GENERATE OUTPUT "${PROJECT_BINARY_DIR}/flaky.tsv" CONTENT "${text}\n")
endfunction()

# Compile-fail tests: every <dir>/*.cpp must be rejected by the compiler with
# the diagnostic its first line names (see ExpectCompileFailure.cmake). Each
# file is an object target outside the default build, compiled with the same
# flags as `link_with`'s users; its test builds it and expects failure.
function(workbook_add_compile_fail_tests dir prefix link_with)
  file(GLOB sources CONFIGURE_DEPENDS "${dir}/*.cpp")
  foreach(source ${sources})
    get_filename_component(stem "${source}" NAME_WE)
    string(MAKE_C_IDENTIFIER "compile_fail_${prefix}_${stem}" target)
    add_library(${target} OBJECT EXCLUDE_FROM_ALL "${source}")
    target_link_libraries(${target} PRIVATE ${link_with})
    add_test(NAME ${prefix}/compile-fail/${stem}
      COMMAND ${CMAKE_COMMAND} -DBUILD_DIR=${PROJECT_BINARY_DIR} -DTARGET=${target}
              -DSOURCE=${source} -P "${PROJECT_SOURCE_DIR}/cmake/ExpectCompileFailure.cmake")
    # Builds in the same build tree must not run at once.
    set_tests_properties(${prefix}/compile-fail/${stem} PROPERTIES
      RESOURCE_LOCK build_tree TIMEOUT ${WORKBOOK_TEST_TIMEOUT} LABELS "compile-fail;${prefix}")
  endforeach()
endfunction()

function(workbook_add_chapters)
  _workbook_read_catalog(count)
  math(EXPR last "${count} - 1")
  set(tsv "")
  foreach(i RANGE ${last})
    _workbook_field(id ${i} id)
    _workbook_field(slug ${i} slug)
    _workbook_field(title ${i} title)
    _workbook_field(signature ${i} signature)
    set(name "${id}-${slug}")
    if(NOT IS_DIRECTORY "${PROJECT_SOURCE_DIR}/chapters/${name}")
      continue()  # a catalog entry for a chapter not written yet
    endif()
    if(WORKBOOK_ONLY_CHAPTERS AND NOT id IN_LIST WORKBOOK_ONLY_CHAPTERS)
      continue()
    endif()
    string(JSON nfiles LENGTH "${_WORKBOOK_JSON}" chapters ${i} files)
    math(EXPR lastfile "${nfiles} - 1")
    set(files "")
    foreach(f RANGE ${lastfile})
      string(JSON file GET "${_WORKBOOK_JSON}" chapters ${i} files ${f})
      list(APPEND files "${file}")
    endforeach()
    _workbook_chapter("${id}" "${name}" "${signature}" "${files}")
    _workbook_field(benchmark ${i} benchmark)
    _workbook_write_hints(nhints ${i} "${id}")
    set(learner 0)
    if(IS_DIRECTORY "${WORKBOOK_LEARNER_DIR}/${name}")
      set(learner 1)
    endif()
    list(JOIN files " " file_words)
    string(APPEND tsv "${id}\t${slug}\t${title}\t${signature}\t${file_words}\t${benchmark}"
                      "\t${nhints}\t${learner}\n")
  endforeach()
  # The list of built chapters, for ./workbook (which has no JSON parser), one
  # line each: id, slug, title, failure signature, exercise files (separated
  # by spaces), benchmark, number of hints, and 1 if the learner's variant is
  # built (my-work/NN-slug existed at configure time), else 0.
  file(WRITE "${PROJECT_BINARY_DIR}/chapters.tsv" "${tsv}")
  workbook_write_flaky_list()
endfunction()

function(_workbook_chapter id name signature files)
  set(ch "ch${id}")
  set(exercise_dir "${PROJECT_SOURCE_DIR}/chapters/${name}")
  set(variants pitfall fix)
  set(dir_pitfall "${exercise_dir}")
  set(dir_fix "${PROJECT_SOURCE_DIR}/solutions/${name}")
  set(dir_learner "${WORKBOOK_LEARNER_DIR}/${name}")
  if(IS_DIRECTORY "${dir_learner}")
    list(APPEND variants learner)
  endif()

  # Provided code of the chapter (neither exercise nor demo): compiled once.
  file(GLOB support CONFIGURE_DEPENDS "${exercise_dir}/*.cpp")
  list(REMOVE_ITEM support "${exercise_dir}/demo.cpp")
  foreach(file ${files})
    list(REMOVE_ITEM support "${exercise_dir}/${file}")
  endforeach()
  add_library(${ch}_support INTERFACE)
  if(support)
    add_library(${ch}_support_code STATIC ${support})
    target_include_directories(${ch}_support_code PUBLIC "${exercise_dir}")
    target_link_libraries(${ch}_support_code PUBLIC mock_db)
    workbook_use_pch(${ch}_support_code)
    target_link_libraries(${ch}_support INTERFACE ${ch}_support_code)
  endif()

  # Compiled once, linked into every variant.
  file(GLOB test_sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/tests/${name}/*.cpp")
  file(GLOB bench_sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/benchmarks/${name}/*.cpp")
  add_library(${ch}_test_objects OBJECT ${test_sources})
  add_library(${ch}_bench_objects OBJECT ${bench_sources})
  add_library(${ch}_demo_objects OBJECT "${exercise_dir}/demo.cpp")
  target_link_libraries(${ch}_test_objects PUBLIC mock_db GTest::gmock)
  target_link_libraries(${ch}_bench_objects PUBLIC mock_db benchmark::benchmark)
  target_link_libraries(${ch}_demo_objects PUBLIC mock_db)
  foreach(kind test bench demo)
    target_include_directories(${ch}_${kind}_objects PUBLIC "${exercise_dir}")
  endforeach()
  workbook_use_test_pch(${ch}_test_objects)
  workbook_use_pch(${ch}_bench_objects)
  workbook_use_pch(${ch}_demo_objects)

  foreach(variant ${variants})
    set(sources "")
    foreach(file ${files})
      list(APPEND sources "${dir_${variant}}/${file}")
    endforeach()
    add_library(${ch}_${variant} STATIC ${sources})
    # The chapter's headers live with the exercise; every variant shares them.
    target_include_directories(${ch}_${variant} PUBLIC "${exercise_dir}")
    target_link_libraries(${ch}_${variant} PUBLIC mock_db ${ch}_support workbook_variant_${variant})
    workbook_use_pch(${ch}_${variant})

    add_executable(${ch}_test_${variant} $<TARGET_OBJECTS:${ch}_test_objects>)
    target_link_libraries(${ch}_test_${variant} PRIVATE ${ch}_${variant} GTest::gmock GTest::gtest_main)
    add_executable(${ch}_bench_${variant} $<TARGET_OBJECTS:${ch}_bench_objects>)
    target_link_libraries(${ch}_bench_${variant} PRIVATE ${ch}_${variant} benchmark::benchmark)
    add_executable(${ch}_demo_${variant} $<TARGET_OBJECTS:${ch}_demo_objects>)
    target_link_libraries(${ch}_demo_${variant} PRIVATE ${ch}_${variant})
    add_custom_target(${ch}_${variant}_all DEPENDS ${ch}_test_${variant} ${ch}_demo_${variant})
    if(variant STREQUAL "learner")
      # The learner's copy is built by ./workbook check/run/bench only: a copy
      # that does not compile yet must not break the workbook's own build.
      set_target_properties(${ch}_${variant} ${ch}_test_${variant} ${ch}_bench_${variant}
        ${ch}_demo_${variant} PROPERTIES EXCLUDE_FROM_ALL ON)
    endif()
  endforeach()

  workbook_add_compile_fail_tests("${PROJECT_SOURCE_DIR}/tests/${name}/compile_fail" ${name}
                                  ${ch}_fix)

  add_test(NAME ${name}/fix COMMAND ${ch}_test_fix --gtest_brief=1)
  workbook_register_flaky(gtest ${name}/fix ${ch}_test_fix "")
  workbook_register_flaky(pitfall ${name}/pitfall ${ch}_test_pitfall "${signature}")
  add_test(NAME ${name}/pitfall
    COMMAND ${CMAKE_COMMAND} -DBINARY=$<TARGET_FILE:${ch}_test_pitfall> -DCHAPTER=${name}
            "-DSIGNATURE=${signature}" -P "${PROJECT_SOURCE_DIR}/cmake/ExpectFailure.cmake")
  add_test(NAME ${name}/demo COMMAND ${ch}_demo_fix)
  add_test(NAME ${name}/bench-smoke COMMAND ${ch}_bench_fix --benchmark_min_time=0.001)
  add_test(NAME ${name}/bench-smoke-pitfall COMMAND ${ch}_bench_pitfall --benchmark_min_time=0.001)
  set_tests_properties(${name}/fix ${name}/pitfall ${name}/demo ${name}/bench-smoke
    ${name}/bench-smoke-pitfall PROPERTIES TIMEOUT ${WORKBOOK_TEST_TIMEOUT})
  # "solution" runs in the sanitizer stages too; "pitfall" only where the lesson is shown.
  set_tests_properties(${name}/fix ${name}/demo ${name}/bench-smoke
    PROPERTIES LABELS "chapter;solution;${name}")
  set_tests_properties(${name}/pitfall ${name}/bench-smoke-pitfall
    PROPERTIES LABELS "chapter;pitfall;${name}")
  set_tests_properties(${name}/demo PROPERTIES ENVIRONMENT "NO_COLOR=1")
endfunction()
