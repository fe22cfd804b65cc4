# How the workbook builds a chapter. Everything a chapter is made of is found
# by name from chapters/catalog.json: adding chapter NN means adding its
# catalog entry and its directories, and nothing here (docs/adding-a-chapter.md).
#
# For a chapter NN-slug whose catalog entry lists its exercise files:
#   chapters/NN-slug/<files>   -> library chNN_pitfall   (the broken code)
#   solutions/NN-slug/<files>  -> library chNN_fix       (the fixed code)
#   my-work/NN-slug/<files>    -> library chNN_learner   (if the learner started it
#                                                         and every file is there)
#   chapters/NN-slug/demo.cpp  -> chNN_demo_<variant>
#   tests/NN-slug/*.cpp        -> chNN_test_<variant>    (one GoogleTest suite)
#   benchmarks/NN-slug/*.cpp   -> chNN_bench_<variant>   (one Google Benchmark program)
#   chapters/NN-slug/chapter.cmake (optional): the chapter's own requirements
#   tests/NN-slug/wrong-fixes/<name>.cpp and alternatives/<name>.cpp
#                              -> chNN_gallery_<kind>_<name> and its test program
#                                 chNN_test_<kind>_<name> (the wrong-fix gallery,
#                                 if WORKBOOK_GALLERY is ON)
# and the CTest tests NN-slug/fix/<Suite>.<Test> (one per GoogleTest test, must
# pass), NN-slug/pitfall (the whole suite must fail with the catalog's failure
# signature), NN-slug/demo, NN-slug/predict (the demo prints the figure the
# catalog's prediction question asks for), the benchmark smoke runs, and one test per gallery
# entry (NN-slug/wrong-fix/<name>, NN-slug/alternative/<name>). A part that is
# missing, or a malformed gallery entry, stops the configuration with a message
# naming it.
# For ./workbook (bash, no JSON parser) it writes build/<preset>/chapters.tsv,
# build/<preset>/catalog/NN.hints and build/<preset>/catalog/NN.predict from
# the catalog at configure time.

include(GoogleTest)

set(WORKBOOK_CATALOG "${PROJECT_SOURCE_DIR}/chapters/catalog.json")
set(WORKBOOK_LEARNER_DIR "${PROJECT_SOURCE_DIR}/my-work" CACHE PATH
    "Where ./workbook start puts the learner's own copies of the chapters")
option(WORKBOOK_PCH "Use precompiled headers" ON)
set(WORKBOOK_ONLY_CHAPTERS "" CACHE STRING
    "Build only these chapters (a list of ids such as 01;03); empty means all")
set(WORKBOOK_TEST_TIMEOUT 60 CACHE STRING "CTest timeout per test, in seconds")
# The wrong-fix galleries cost one compile and one link per entry in the
# default build; a slow machine can leave them out (their tests go too). The
# sanitizer builds (asan, tsan, fuzz) never run them (their test presets
# select foundation and solution), so they do not build them either.
if(WORKBOOK_SANITIZE)
  set(_workbook_gallery_default OFF)
else()
  set(_workbook_gallery_default ON)
endif()
option(WORKBOOK_GALLERY
  "Build and test each chapter's wrong-fix gallery (tests/NN-slug/wrong-fixes, alternatives)"
  ${_workbook_gallery_default})
set(WORKBOOK_GALLERY_TIMEOUT 30 CACHE STRING
  "Seconds a gallery entry's test program may run before it counts as hanging")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${WORKBOOK_CATALOG}")

# How the learner's tests are linked (see the learner variant below).
include(CheckLinkerFlag)
check_linker_flag(CXX "-fuse-ld=gold" WORKBOOK_HAVE_GOLD)
set(_WORKBOOK_LEARNER_LINK_OPTIONS "-Wl,--compress-debug-sections=none")
if(WORKBOOK_HAVE_GOLD)
  list(PREPEND _WORKBOOK_LEARNER_LINK_OPTIONS "-fuse-ld=gold")
endif()
# How the learner's copy is compiled for its test: with GCC's -O2 -g
# (RelWithDebInfo), -O1 -g1 takes 40% less time (0.85 s of CPU instead of 1.4 s
# for chapter 01's file), reuses the same precompiled header, and keeps what a
# backtrace needs (functions, files and lines). Other build types and
# compilers keep their flags: a precompiled header must match them.
# Tests (their own code, not what they test) need no -O2 either: with GCC's
# -Og a test file compiles in about a quarter less time (chapter 12's:
# 3.6 s of CPU instead of 5.1 s), which a fresh clone's first build feels.
set(_WORKBOOK_LEARNER_CHECK_OPTIONS "")
set(_WORKBOOK_TEST_OPTIONS "")
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_BUILD_TYPE STREQUAL "RelWithDebInfo")
  set(_WORKBOOK_LEARNER_CHECK_OPTIONS -O1 -g1)
  set(_WORKBOOK_TEST_OPTIONS -Og)
endif()

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

# A test program's own files: the tests' precompiled header and flags.
function(workbook_compile_as_test target)
  if(WORKBOOK_PCH)
    target_precompile_headers(${target} REUSE_FROM workbook_test_pch)
  endif()
  target_compile_options(${target} PRIVATE ${_WORKBOOK_TEST_OPTIONS})
endfunction()

# Reads one field of chapter entry `index` into `out`; a missing field stops
# the configuration with a message that names the entry and the field.
function(_workbook_field out index field)
  string(JSON value ERROR_VARIABLE error GET "${_WORKBOOK_JSON}" chapters ${index} ${field})
  if(error)
    string(JSON id ERROR_VARIABLE ignored GET "${_WORKBOOK_JSON}" chapters ${index} id)
    message(FATAL_ERROR "chapters/catalog.json: chapter entry ${index} (id \"${id}\") has no "
      "\"${field}\". Every chapter needs id, slug, title, predict, seed_section, files, "
      "signature (or signatures) and hints (see docs/adding-a-chapter.md).")
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
# line, for ./workbook hint; `out` receives how many there are. A hint is a
# text, or an object {"when": KEY or [KEY, ...], "text": TEXT}: a hint keyed
# to what it is about, shown while that still fails. A KEY is one of the
# chapter's failure signatures, or a GoogleTest name (Suite.Test; * matches
# any characters). The keys go to catalog/<id>.hint-keys, one line per hint
# (separated by the ASCII unit separator, empty for a plain text), so that
# <id>.hints stays one text per line.
function(_workbook_write_hints out index id)
  string(JSON count LENGTH "${_WORKBOOK_JSON}" chapters ${index} hints)
  string(ASCII 31 separator)
  set(text "")
  set(keys "")
  if(count GREATER 0)
    math(EXPR last "${count} - 1")
    foreach(h RANGE ${last})
      string(JSON type TYPE "${_WORKBOOK_JSON}" chapters ${index} hints ${h})
      set(when "")
      if(type STREQUAL "OBJECT")
        string(JSON hint ERROR_VARIABLE error GET "${_WORKBOOK_JSON}" chapters ${index} hints ${h} text)
        string(JSON when_type ERROR_VARIABLE error2 TYPE "${_WORKBOOK_JSON}" chapters ${index} hints ${h} when)
        if(error OR error2 OR hint STREQUAL "")
          message(FATAL_ERROR "chapters/catalog.json: chapter ${id}'s hint ${h} is an object without "
            "a \"text\" and a \"when\": a hint is a text, or {\"when\": \"Suite.Test or a failure "
            "signature\", \"text\": \"...\"} (see docs/adding-a-chapter.md).")
        endif()
        if(when_type STREQUAL "ARRAY")
          string(JSON nwhen LENGTH "${_WORKBOOK_JSON}" chapters ${index} hints ${h} when)
          set(w 0)
          while(w LESS nwhen)
            string(JSON key GET "${_WORKBOOK_JSON}" chapters ${index} hints ${h} when ${w})
            if(when STREQUAL "")
              set(when "${key}")
            else()
              string(APPEND when "${separator}${key}")
            endif()
            math(EXPR w "${w} + 1")
          endwhile()
        elseif(when_type STREQUAL "STRING")
          string(JSON when GET "${_WORKBOOK_JSON}" chapters ${index} hints ${h} when)
        endif()
        if(when STREQUAL "")
          message(FATAL_ERROR "chapters/catalog.json: chapter ${id}'s hint ${h} has an empty "
            "\"when\": name the test (Suite.Test, * for any characters) or the failure signature "
            "it is about, or make the hint a plain text.")
        endif()
      elseif(type STREQUAL "STRING")
        string(JSON hint GET "${_WORKBOOK_JSON}" chapters ${index} hints ${h})
      else()
        message(FATAL_ERROR "chapters/catalog.json: chapter ${id}'s hint ${h} is a ${type}: a "
          "hint is a text, or {\"when\": ..., \"text\": ...}.")
      endif()
      string(REPLACE "\n" " " hint "${hint}")
      string(REPLACE "\n" " " when "${when}")
      string(APPEND text "${hint}\n")
      string(APPEND keys "${when}\n")
    endforeach()
  endif()
  file(WRITE "${PROJECT_BINARY_DIR}/catalog/${id}.hints" "${text}")
  file(WRITE "${PROJECT_BINARY_DIR}/catalog/${id}.hint-keys" "${keys}")
  set(${out} ${count} PARENT_SCOPE)
endfunction()

# Benchmark programs are outside "all": the quick ./workbook test does not
# wait for them (about 15% of a fresh build). ./workbook bench builds the ones
# it runs, ./workbook prepare and --full build them all (target
# benchmark_programs), and the sanitizer and clang builds include them.
add_custom_target(benchmark_programs)
function(workbook_benchmark_program target)
  set_target_properties(${target} PROPERTIES EXCLUDE_FROM_ALL ON)
  add_dependencies(benchmark_programs ${target})
endfunction()

# Makes a benchmark smoke run (a CTest test running a Google Benchmark
# program) fail when it measured nothing: a --benchmark_filter that matches no
# benchmark, or a program that registers none, only prints "Failed to match
# any benchmarks against regex: ..." and exits 0, which CTest counts as passed.
# The smoke runs carry the label full-only: --full builds the programs first.
function(workbook_bench_smoke_tests)
  set_tests_properties(${ARGN} PROPERTIES FAIL_REGULAR_EXPRESSION "Failed to match any benchmarks")
  set_property(TEST ${ARGN} APPEND PROPERTY LABELS full-only)
endfunction()

# The flakiness meter (./workbook flaky) reads build/<preset>/flaky.tsv: one
# line per GoogleTest binary ("gtest") and per pitfall check ("pitfall").
# A signature may hold a semicolon (chapter 06's does), which a CMake list would
# split into two entries: it is kept as ASCII 30 in the list, and put back on writing.
function(workbook_register_flaky kind name target signature)
  string(ASCII 30 record_separator)
  string(REPLACE ";" "${record_separator}" signature "${signature}")
  set_property(GLOBAL APPEND PROPERTY WORKBOOK_FLAKY
    "${kind}\t${name}\t$<TARGET_FILE:${target}>\t${signature}")
endfunction()

function(workbook_write_flaky_list)
  get_property(entries GLOBAL PROPERTY WORKBOOK_FLAKY)
  list(JOIN entries "\n" text)
  string(ASCII 30 record_separator)
  string(REPLACE "${record_separator}" ";" text "${text}")
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

# Registers each test of GoogleTest program `target` as a CTest test of its
# own, named <prefix>/<Suite>.<Test>, so that every test runs in a fresh
# process (the harness keeps process-wide state: registries, a deadline) and a
# report names the test that failed. The tests are listed when ctest starts
# (PRE_TEST), not at build time, so a build never runs a test program.
function(workbook_add_gtests target prefix labels)
  gtest_discover_tests(${target}
    TEST_PREFIX "${prefix}/"
    TEST_LIST ${target}_TESTS
    DISCOVERY_MODE PRE_TEST
    DISCOVERY_TIMEOUT 30
    PROPERTIES TIMEOUT ${WORKBOOK_TEST_TIMEOUT})
  # LABELS is a list, and gtest_discover_tests (CMake 3.25) spreads a list in
  # PROPERTIES into separate words ("LABELS chapter solution" sets a property
  # named "solution"). So ctest reads the labels from a file of our own, after
  # the discovered tests. A program that is not built becomes one test,
  # <target>_NOT_BUILT, which fails; it gets the labels too, so that a run
  # filtered by label (the asan and tsan presets) reports it instead of
  # silently running fewer tests.
  set(file "${CMAKE_CURRENT_BINARY_DIR}/${target}_labels.cmake")
  string(CONCAT content
    "if(NOT \"\${${target}_TESTS}\" STREQUAL \"\")\n"
    "  set_tests_properties(\${${target}_TESTS} PROPERTIES LABELS \"${labels}\")\n"
    "elseif(NOT EXISTS \"$<TARGET_FILE:${target}>\")\n"
    "  set_tests_properties(${target}_NOT_BUILT PROPERTIES LABELS \"${labels}\")\n"
    "endif()\n")
  file(GENERATE OUTPUT "${file}" CONTENT "${content}")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${file}")
endfunction()

# Reads chapter entry `index`'s exercise files into `out`, and stops the
# configuration if the list is empty or names anything but a .cpp file.
function(_workbook_files out index id name)
  string(JSON count ERROR_VARIABLE error LENGTH "${_WORKBOOK_JSON}" chapters ${index} files)
  if(error OR count EQUAL 0)
    if(NOT error)
      set(error "it is empty")
    endif()
    message(FATAL_ERROR "chapters/catalog.json: chapter ${id}'s \"files\" must be a non-empty "
      "list of the exercise's .cpp files (the files that differ between the pitfall and the "
      "fix), such as [\"note_reader.cpp\"]; ${error}.")
  endif()
  math(EXPR last "${count} - 1")
  set(files "")
  foreach(f RANGE ${last})
    string(JSON file GET "${_WORKBOOK_JSON}" chapters ${index} files ${f})
    if(file MATCHES "\\.(h|hh|hpp|hxx|ipp|inl|tpp)$")
      message(FATAL_ERROR "chapters/catalog.json: chapter ${id} lists the header \"${file}\" in "
        "\"files\", but an exercise file must be a .cpp file.\n"
        "The exercise files are built twice, from chapters/ (the pitfall) and from solutions/ "
        "(the fix), and the chapter's test and demo are compiled once and linked against both. "
        "A header in both directories would let the pitfall and the fix declare the same "
        "classes and inline functions differently, while the test was compiled against only "
        "one of them: an ODR violation, which compiles, links and then misbehaves at run time "
        "without a diagnostic.\n"
        "Keep \"${file}\" in chapters/${name}/ only (one interface, shared by the pitfall, the "
        "fix and the learner's copy), and list only the .cpp files that implement it.")
    elseif(NOT file MATCHES "\\.(cpp|cc|cxx)$")
      message(FATAL_ERROR "chapters/catalog.json: chapter ${id} lists \"${file}\" in \"files\", "
        "but an exercise file must be a C++ source file (.cpp): it is compiled into the "
        "pitfall, the fix and the learner's libraries.")
    endif()
    list(APPEND files "${file}")
  endforeach()
  set(${out} "${files}" PARENT_SCOPE)
endfunction()

# The failure signatures of chapter entry `index` into `out`: its "signature",
# its "signatures" (a list: the pitfall's test must fail with every one), or
# both, joined by the ASCII unit separator (character 31), which no signature
# holds and which CTest, ./workbook and flaky.tsv pass on untouched (a CMake
# list would split the ';' some signatures contain). A chapter needs at least
# one; an empty one, or a "signatures" that is not a list of strings, stops the
# configuration.
function(_workbook_signatures out index id)
  string(ASCII 31 separator)
  set(all "")
  string(JSON one ERROR_VARIABLE no_one GET "${_WORKBOOK_JSON}" chapters ${index} signature)
  if(NOT no_one)
    set(all "${one}")
  endif()
  string(JSON type ERROR_VARIABLE no_list TYPE "${_WORKBOOK_JSON}" chapters ${index} signatures)
  if(NOT no_list)
    if(NOT type STREQUAL "ARRAY")
      message(FATAL_ERROR "chapters/catalog.json: chapter ${id}'s \"signatures\" is a ${type}; "
        "it must be a list of texts, each of which the pitfall's test must fail with.")
    endif()
    string(JSON count LENGTH "${_WORKBOOK_JSON}" chapters ${index} signatures)
    if(count GREATER 0)
      math(EXPR last "${count} - 1")
      foreach(k RANGE ${last})
        string(JSON text GET "${_WORKBOOK_JSON}" chapters ${index} signatures ${k})
        if(text STREQUAL "")
          message(FATAL_ERROR "chapters/catalog.json: chapter ${id}'s \"signatures\" has an "
            "empty text (number ${k}); every signature must be text the failure contains.")
        endif()
        if(all STREQUAL "")
          set(all "${text}")
        else()
          string(APPEND all "${separator}${text}")
        endif()
      endforeach()
    endif()
  endif()
  if(all STREQUAL "")
    message(FATAL_ERROR "chapters/catalog.json: chapter entry ${index} (id \"${id}\") has no "
      "\"signature\" and no \"signatures\". Every chapter needs one of them, the text its "
      "pitfall's test failure must contain (see docs/adding-a-chapter.md).")
  endif()
  set(${out} "${all}" PARENT_SCOPE)
endfunction()

# The benchmark's name lives in the build alone (chNN_bench, built as
# chNN_bench_<variant>, like chNN_test_<variant>); a catalog field would be a
# second copy that could drift, so an old catalog that still has one stops here.
function(_workbook_refuse_benchmark_field index id name)
  string(JSON value ERROR_VARIABLE error GET "${_WORKBOOK_JSON}" chapters ${index} benchmark)
  if(NOT error)
    message(FATAL_ERROR "chapters/catalog.json: chapter ${id} has a \"benchmark\" field "
      "(\"${value}\"), but the benchmark's name is not a catalog fact: it is always "
      "ch${id}_bench (targets ch${id}_bench_pitfall and ch${id}_bench_fix), built from "
      "benchmarks/${name}/. Remove the field.")
  endif()
endfunction()

# Appends `path` and what it is for to the list in `var` unless the file exists.
function(_workbook_need var path)
  if(NOT EXISTS "${PROJECT_SOURCE_DIR}/${path}")
    string(CONCAT what ${ARGN})
    set(${var} "${${var}}  ${path}\n      ${what}\n" PARENT_SCOPE)
  endif()
endfunction()

# Stops the configuration if chapter `name` lacks a part every chapter must
# have, naming each missing part, where it belongs and what it is for.
function(_workbook_check_parts id name files)
  set(root "${PROJECT_SOURCE_DIR}")
  set(missing "")
  _workbook_need(missing "chapters/${name}/README.md" "the lesson (the seven sections of the contract)")
  _workbook_need(missing "chapters/${name}/demo.cpp"
    "the demo program: a main that shows the symptom in about a second")
  foreach(file ${files})
    _workbook_need(missing "chapters/${name}/${file}"
      "the pitfall: the exercise file ${file} (listed in the catalog's \"files\"), broken")
    _workbook_need(missing "solutions/${name}/${file}"
      "the fix: the exercise file ${file} (listed in the catalog's \"files\"), fixed, behind "
      "the same interface")
  endforeach()
  foreach(part tests benchmarks)
    file(GLOB sources "${root}/${part}/${name}/*.cpp")
    if(NOT sources)
      if(part STREQUAL "tests")
        set(what "the test: one GoogleTest suite, built against the pitfall and the fix")
      else()
        string(CONCAT what "the benchmark: one Google Benchmark program, {pitfall, fix} x "
                           "{sequential, concurrent}")
      endif()
      if(IS_DIRECTORY "${root}/${part}/${name}")
        string(APPEND what " (the directory has no .cpp file)")
      else()
        string(APPEND what " (the directory does not exist)")
      endif()
      string(APPEND missing "  ${part}/${name}/*.cpp\n      ${what}\n")
    endif()
  endforeach()
  if(missing)
    message(FATAL_ERROR "chapter ${id} (${name}) is incomplete; it lacks:\n${missing}"
      "Add these (docs/adding-a-chapter.md says what each must do), or remove the chapter's "
      "entry from chapters/catalog.json.")
  endif()
  # Headers come from chapters/NN-slug/ alone (see _workbook_files), so one
  # in solutions/ is never read: the fix would silently use the other one.
  file(GLOB headers RELATIVE "${root}" "${root}/solutions/${name}/*.h" "${root}/solutions/${name}/*.hpp")
  if(headers)
    list(JOIN headers ", " headers)
    message(FATAL_ERROR "chapter ${id} (${name}): ${headers} is never used: the chapter's "
      "headers are read from chapters/${name}/ only, shared by the pitfall and the fix, which "
      "differ only in the exercise's .cpp files. Move what the fix needs into those .cpp "
      "files, or into the shared header in chapters/${name}/ if the pitfall needs it too.")
  endif()
endfunction()

# A catalog entry without its chapter directory is a chapter not written yet,
# and is skipped; but if the chapter's other parts exist, or a directory of
# the same number has another slug, the name is wrong, which stops here.
function(_workbook_check_unwritten id name)
  file(GLOB found LIST_DIRECTORIES true RELATIVE "${PROJECT_SOURCE_DIR}"
       "${PROJECT_SOURCE_DIR}/chapters/${id}-*")
  foreach(part solutions tests benchmarks)
    if(IS_DIRECTORY "${PROJECT_SOURCE_DIR}/${part}/${name}")
      list(APPEND found "${part}/${name}")
    endif()
  endforeach()
  if(found)
    list(JOIN found ", " found)
    message(FATAL_ERROR "chapter ${id} (${name}): chapters/${name}/ does not exist, so the "
      "chapter is not built, yet ${found} exists. The catalog's slug and the "
      "directory names must be the same in chapters/, solutions/, tests/ and benchmarks/: "
      "rename the directory or correct the slug.")
  endif()
  message(STATUS "chapter ${id} (${name}) is in the catalog but not written yet "
                 "(no chapters/${name}/): skipped")
endfunction()

# A chapter whose lesson is a sanitizer's report (a data race, a use after free)
# names it in its optional catalog field "sanitizer_signatures", e.g.
# {"asan": "heap-use-after-free", "tsan": "ThreadSanitizer: data race"}. In the
# build of that sanitizer (presets asan, tsan) the pitfall's suite must then also
# fail with that report: test NN-slug/pitfall-asan or NN-slug/pitfall-tsan,
# label "sanitizer", which those presets run. Elsewhere the field does nothing.
function(_workbook_sanitizer_checks index id name)
  string(JSON value ERROR_VARIABLE missing GET "${_WORKBOOK_JSON}" chapters ${index}
         sanitizer_signatures)
  if(missing)
    return()
  endif()
  string(JSON type TYPE "${_WORKBOOK_JSON}" chapters ${index} sanitizer_signatures)
  set(problem "")
  if(NOT type STREQUAL "OBJECT")
    set(problem "is a ${type}")
  else()
    string(JSON count LENGTH "${value}")
    if(count EQUAL 0)
      set(problem "is empty")
    else()
      math(EXPR last "${count} - 1")
      foreach(k RANGE ${last})
        string(JSON key MEMBER "${value}" ${k})
        string(JSON kind TYPE "${value}" "${key}")
        if(NOT key MATCHES "^(asan|tsan)$" OR NOT kind STREQUAL "STRING")
          set(problem "has \"${key}\" (${kind})")
          break()
        endif()
      endforeach()
    endif()
  endif()
  if(problem)
    message(FATAL_ERROR "chapters/catalog.json: chapter ${id}'s \"sanitizer_signatures\" "
      "${problem}; it must be an object whose keys are \"asan\" and/or \"tsan\", each the "
      "text that sanitizer's report must contain (see docs/adding-a-chapter.md).")
  endif()
  set(key "")
  if(WORKBOOK_SANITIZE MATCHES "address")
    set(key asan)
    set(tool AddressSanitizer)
  elseif(WORKBOOK_SANITIZE MATCHES "thread")
    set(key tsan)
    set(tool ThreadSanitizer)
  endif()
  if(NOT key)
    return()
  endif()
  string(JSON signature ERROR_VARIABLE absent GET "${value}" ${key})
  if(absent)
    return()
  endif()
  add_test(NAME ${name}/pitfall-${key}
    COMMAND ${CMAKE_COMMAND} -DBINARY=$<TARGET_FILE:ch${id}_test_pitfall> -DCHAPTER=${name}
            "-DSIGNATURE=${signature}" "-DUNDER=${tool}"
            -P "${PROJECT_SOURCE_DIR}/cmake/ExpectFailure.cmake")
  set_tests_properties(${name}/pitfall-${key} PROPERTIES TIMEOUT ${WORKBOOK_TEST_TIMEOUT}
    LABELS "chapter;sanitizer;${name}")
endfunction()

# Reads and checks chapter entry `index`'s prediction question, the catalog's
# "predict": {"question": "...", "unit": "ms", "measure": "read_time",
# "demo": "pitfall"}. ./workbook run NN asks the question before it runs the
# demos; the demo named by "demo" answers it with its line
# "measured: <measure>=<number> <unit>" (workbook::print_measured). Sets
# predict_question, predict_unit, predict_measure and predict_demo in the
# caller's scope; a malformed entry stops the configuration.
function(_workbook_predict index id)
  _workbook_field(predict ${index} predict)
  string(JSON type TYPE "${_WORKBOOK_JSON}" chapters ${index} predict)
  set(problem "")
  if(NOT type STREQUAL "OBJECT")
    set(problem "is a ${type}, not an object")
  else()
    foreach(key question unit measure demo)
      string(JSON value ERROR_VARIABLE missing GET "${predict}" ${key})
      if(missing)
        set(problem "has no \"${key}\"")
        break()
      endif()
      string(JSON kind TYPE "${predict}" ${key})
      string(REGEX REPLACE "[\t\n\r]+" " " value "${value}")
      string(STRIP "${value}" value)
      if(NOT kind STREQUAL "STRING" OR value STREQUAL "")
        set(problem "has a \"${key}\" that is not a text")
        break()
      endif()
      set(${key} "${value}")
    endforeach()
  endif()
  if(NOT problem)
    if(NOT measure MATCHES "^[a-z][a-z0-9_]*$")
      string(CONCAT problem "has the measure \"${measure}\"; a measure is a key in lower "
                            "case, letters, digits and _ (such as read_time)")
    elseif(NOT unit MATCHES "^[A-Za-z][A-Za-z/]*$")
      set(problem "has the unit \"${unit}\"; a unit is one word (ms, reads, notes)")
    elseif(NOT demo MATCHES "^(pitfall|fix)$")
      string(CONCAT problem "has the demo \"${demo}\"; it is \"pitfall\" or \"fix\": the demo "
                            "whose measurement answers the question")
    endif()
  endif()
  if(problem)
    message(FATAL_ERROR "chapters/catalog.json: chapter ${id}'s \"predict\" ${problem}. It must "
      "be an object {\"question\": \"...\", \"unit\": \"ms\", \"measure\": \"<key>\", "
      "\"demo\": \"pitfall\"}: the question ./workbook run asks, and the figure the demo "
      "measures and prints as \"measured: <key>=<number> <unit>\" (see "
      "docs/adding-a-chapter.md).")
  endif()
  set(predict_question "${question}" PARENT_SCOPE)
  set(predict_unit "${unit}" PARENT_SCOPE)
  set(predict_measure "${measure}" PARENT_SCOPE)
  set(predict_demo "${demo}" PARENT_SCOPE)
endfunction()

# Writes a built chapter's prediction question to build/<preset>/catalog/<id>.predict
# for ./workbook run, one line: measure, unit, demo, question (tab-separated),
# and adds the test NN-slug/predict: the demo that answers the question prints
# the figure it asks for (cmake/ExpectMeasure.cmake).
function(_workbook_predict_test id name measure unit demo question)
  file(WRITE "${PROJECT_BINARY_DIR}/catalog/${id}.predict"
       "${measure}\t${unit}\t${demo}\t${question}\n")
  add_test(NAME ${name}/predict
    COMMAND ${CMAKE_COMMAND} -DBINARY=$<TARGET_FILE:ch${id}_demo_${demo}> -DCHAPTER=${name}
            -DDEMO=${demo} -DKEY=${measure} -DUNIT=${unit}
            -P "${PROJECT_SOURCE_DIR}/cmake/ExpectMeasure.cmake")
  if(demo STREQUAL "fix")
    set(labels "chapter;solution;${name}")
  else()
    set(labels "chapter;pitfall;${name}")
  endif()
  set_tests_properties(${name}/predict PROPERTIES TIMEOUT ${WORKBOOK_TEST_TIMEOUT}
    LABELS "${labels}")
endfunction()

function(workbook_add_chapters)
  _workbook_read_catalog(count)
  math(EXPR last "${count} - 1")
  set(tsv "")
  set(names "")
  foreach(i RANGE ${last})
    _workbook_field(id ${i} id)
    _workbook_field(slug ${i} slug)
    _workbook_field(title ${i} title)
    _workbook_predict(${i} "${id}")
    _workbook_signatures(signature ${i} "${id}")
    set(name "${id}-${slug}")
    _workbook_refuse_benchmark_field(${i} "${id}" "${name}")
    _workbook_files(files ${i} "${id}" "${name}")
    list(APPEND names "${name}")
    if(WORKBOOK_ONLY_CHAPTERS AND NOT id IN_LIST WORKBOOK_ONLY_CHAPTERS)
      continue()
    endif()
    if(NOT IS_DIRECTORY "${PROJECT_SOURCE_DIR}/chapters/${name}")
      _workbook_check_unwritten("${id}" "${name}")
      continue()
    endif()
    _workbook_check_parts("${id}" "${name}" "${files}")
    # The one place the benchmark's name is made; ./workbook reads it from chapters.tsv.
    set(benchmark "ch${id}_bench")
    _workbook_chapter("${id}" "${name}" "${signature}" "${files}" "${benchmark}" learner)
    _workbook_sanitizer_checks(${i} "${id}" "${name}")
    _workbook_write_hints(nhints ${i} "${id}")
    _workbook_predict_test("${id}" "${name}" "${predict_measure}" "${predict_unit}"
                           "${predict_demo}" "${predict_question}")
    list(JOIN files " " file_words)
    string(APPEND tsv "${id}\t${slug}\t${title}\t${signature}\t${file_words}\t${benchmark}"
                      "\t${nhints}\t${learner}\n")
  endforeach()
  # A chapter directory the catalog does not name is never built: say so.
  file(GLOB dirs LIST_DIRECTORIES true RELATIVE "${PROJECT_SOURCE_DIR}/chapters"
       "${PROJECT_SOURCE_DIR}/chapters/*")
  foreach(dir ${dirs})
    if(IS_DIRECTORY "${PROJECT_SOURCE_DIR}/chapters/${dir}" AND NOT dir IN_LIST names)
      message(WARNING "chapters/${dir}/ is not in chapters/catalog.json, so it is not built. "
        "Give it a catalog entry (id and slug as in its name), or remove it.")
    endif()
  endforeach()
  # The list of built chapters, for ./workbook (which has no JSON parser), one
  # line each: id, slug, title, failure signature, exercise files (separated
  # by spaces), benchmark (the prefix of its targets: chNN_bench_pitfall and
  # chNN_bench_fix), number of hints, and the learner's variant: 1 if built
  # (my-work/NN-slug existed at configure time, with every exercise file),
  # missing if my-work/NN-slug exists but lacks an exercise file (so nothing
  # of it is built), else 0.
  file(WRITE "${PROJECT_BINARY_DIR}/chapters.tsv" "${tsv}")
  workbook_write_flaky_list()
endfunction()

# A chapter's optional chapters/NN-slug/chapter.cmake declares what the
# chapter needs beyond the workbook's own dependencies (a real database
# client, say). It is included before the chapter's targets exist, with
# CHAPTER_ID ("12") and CHAPTER_NAME ("12-sqlite-transactions") set, and may:
#   - call workbook_chapter_requires(<Package> DEBIAN <package> [args...]),
#     which finds a package or stops with a message naming the chapter and the
#     Debian package to install;
#   - append to CHAPTER_LIBRARIES the libraries (imported targets) that are
#     linked into every variant, its support code, test, demo and benchmark.
# See docs/adding-a-chapter.md.
macro(workbook_chapter_requires package)
  cmake_parse_arguments(_workbook_req "" "DEBIAN" "" ${ARGN})
  if(NOT _workbook_req_DEBIAN)
    message(FATAL_ERROR "chapters/${CHAPTER_NAME}/chapter.cmake: "
      "workbook_chapter_requires(${package}) needs DEBIAN <package>: the Debian package that "
      "provides ${package}, which the message for a missing ${package} tells the reader to "
      "install.")
  endif()
  find_package(${package} ${_workbook_req_UNPARSED_ARGUMENTS} QUIET)
  if(NOT ${package}_FOUND)
    string(JOIN " " _workbook_req_call "find_package(${package}" ${_workbook_req_UNPARSED_ARGUMENTS})
    message(FATAL_ERROR "chapter ${CHAPTER_ID} (${CHAPTER_NAME}) needs ${package}, and "
      "${_workbook_req_call}) did not find it.\n"
      "Install the Debian package ${_workbook_req_DEBIAN}:\n"
      "    sudo apt-get install ${_workbook_req_DEBIAN}\n"
      "then configure again. To build the other chapters meanwhile, name them: "
      "-DWORKBOOK_ONLY_CHAPTERS=<their ids, separated by ;>.")
  endif()
endmacro()

include("${CMAKE_CURRENT_LIST_DIR}/GalleryEntry.cmake")

# The chapter's wrong-fix gallery (docs/adding-a-chapter.md): each entry of
# tests/NN-slug/wrong-fixes/ (kind wrong-fix) and tests/NN-slug/alternatives/
# (kind alternative) replaces the exercise file. It is compiled alone into a
# small library, with what the chapter's variants get (the chapter's headers,
# support code and libraries), and linked with the test objects compiled once
# for the pitfall and the fix: one compile and one link per entry. The test
# programs are in the default build, so that CTest never builds (a test that
# builds would have to lock the build tree and would run one at a time).
# A malformed entry stops the configuration, even with WORKBOOK_GALLERY OFF.
function(_workbook_gallery ch name files exercise_dir)
  set(tests_dir "${PROJECT_SOURCE_DIR}/tests/${name}")
  # A chapter of several exercise files: an entry replaces the first one,
  # and the others come from the fix.
  list(GET files 0 replaced)
  set(others "")
  foreach(file ${files})
    if(NOT file STREQUAL replaced)
      list(APPEND others "${PROJECT_SOURCE_DIR}/solutions/${name}/${file}")
    endif()
  endforeach()
  foreach(kind wrong-fix alternative)
    if(kind STREQUAL "wrong-fix")
      set(dir "wrong-fixes")
    else()
      set(dir "alternatives")
    endif()
    file(GLOB found CONFIGURE_DEPENDS "${tests_dir}/${dir}/*")
    foreach(path ${found})
      file(RELATIVE_PATH entry "${PROJECT_SOURCE_DIR}" "${path}")
      if(path MATCHES "\\.md$" OR IS_DIRECTORY "${path}")
        continue()
      elseif(NOT path MATCHES "\\.cpp$")
        message(FATAL_ERROR "${entry}: a gallery entry is a whole replacement of the exercise "
          "file ${replaced}, named <name>.cpp; this file would never be built. Rename it, or "
          "move it out of tests/${name}/${dir}/.")
      endif()
      workbook_read_gallery_entry("${path}" ${kind} what expect error)
      if(error)
        message(FATAL_ERROR "${entry} is not a well-formed gallery entry: ${error}.\n"
          "See docs/adding-a-chapter.md, \"The wrong-fix gallery\".")
      endif()
      if(NOT WORKBOOK_GALLERY)
        continue()
      endif()
      get_filename_component(stem "${path}" NAME_WLE)
      string(MAKE_C_IDENTIFIER "${kind}_${stem}" id)
      set(library ${ch}_gallery_${id})
      set(program ${ch}_test_${id})
      add_library(${library} STATIC "${path}" ${others})
      target_include_directories(${library} PUBLIC "${exercise_dir}")
      target_link_libraries(${library} PUBLIC mock_db ${ch}_support workbook_variant_gallery
                                              ${CHAPTER_LIBRARIES})
      # The flags of a learner's copy in ./workbook check (see the learner
      # variant): an entry is what a learner could write, and a warning must
      # not stop the build.
      target_compile_options(${library} PRIVATE -Wno-error ${_WORKBOOK_LEARNER_CHECK_OPTIONS})
      workbook_use_pch(${library})
      add_executable(${program} $<TARGET_OBJECTS:${ch}_test_objects>)
      target_link_libraries(${program} PRIVATE ${library} GTest::gmock GTest::gtest_main)
      # Built by the "galleries" target (./workbook test --full), not by "all": the
      # quick test leaves the galleries out, and a first build takes minutes less.
      set_target_properties(${library} ${program} PROPERTIES EXCLUDE_FROM_ALL ON)
      add_dependencies(${ch}_gallery ${program})
      set(test "${name}/${kind}/${stem}")
      add_test(NAME ${test}
        COMMAND ${CMAKE_COMMAND} -DBINARY=$<TARGET_FILE:${program}> -DENTRY=${path}
                -DKIND=${kind} -DTEST=${test} -DTARGET=${program}
                -DBUILD_DIR=${PROJECT_BINARY_DIR} -DTIMEOUT=${WORKBOOK_GALLERY_TIMEOUT}
                -P "${PROJECT_SOURCE_DIR}/cmake/ExpectWrongFix.cmake")
      # CTest's own timeout only catches the script itself hanging: the
      # script's shorter one says which entry hung.
      math(EXPR timeout "${WORKBOOK_GALLERY_TIMEOUT} + 30")
      # Not "chapter", "solution" or "pitfall": the sanitizer stages select
      # those labels, and the quick ./workbook test leaves wrong-fix out.
      set_tests_properties(${test} PROPERTIES TIMEOUT ${timeout} LABELS "wrong-fix;${name}")
    endforeach()
  endforeach()
endfunction()

function(_workbook_chapter id name signature files benchmark learner_out)
  set(ch "ch${id}")
  set(exercise_dir "${PROJECT_SOURCE_DIR}/chapters/${name}")
  set(variants pitfall fix)
  set(dir_pitfall "${exercise_dir}")
  set(dir_fix "${PROJECT_SOURCE_DIR}/solutions/${name}")
  set(dir_learner "${WORKBOOK_LEARNER_DIR}/${name}")

  # The learner's variant exists only when every exercise file is in their
  # copy: a file deleted or renamed there must not break the configuration.
  set(learner 0)
  if(IS_DIRECTORY "${dir_learner}")
    set(absent "")
    foreach(file ${files})
      if(NOT EXISTS "${dir_learner}/${file}")
        list(APPEND absent "${file}")
      endif()
    endforeach()
    if(absent)
      set(learner missing)
      list(JOIN absent ", " absent)
      message(STATUS "chapter ${id}: ${dir_learner} lacks ${absent}, so the learner's copy "
                     "is not built (./workbook reset ${id} restores the original)")
      # Configure again as soon as the copy's files change (the file is back).
      file(GLOB ignored CONFIGURE_DEPENDS "${dir_learner}/*")
    else()
      set(learner 1)
      list(APPEND variants learner)
    endif()
  endif()
  set(${learner_out} ${learner} PARENT_SCOPE)

  # The chapter's own requirements (see workbook_chapter_requires above).
  set(CHAPTER_ID "${id}")
  set(CHAPTER_NAME "${name}")
  set(CHAPTER_LIBRARIES "")
  if(EXISTS "${exercise_dir}/chapter.cmake")
    include("${exercise_dir}/chapter.cmake")
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
    target_link_libraries(${ch}_support_code PUBLIC mock_db ${CHAPTER_LIBRARIES})
    workbook_use_pch(${ch}_support_code)
    target_link_libraries(${ch}_support INTERFACE ${ch}_support_code)
  endif()

  # Compiled once, linked into every variant.
  file(GLOB test_sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/tests/${name}/*.cpp")
  file(GLOB bench_sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/benchmarks/${name}/*.cpp")
  add_library(${ch}_test_objects OBJECT ${test_sources})
  add_library(${ch}_bench_objects OBJECT ${bench_sources})
  # Compiled only for the benchmark programs (see workbook_benchmark_program).
  set_target_properties(${ch}_bench_objects PROPERTIES EXCLUDE_FROM_ALL ON)
  add_library(${ch}_demo_objects OBJECT "${exercise_dir}/demo.cpp")
  target_link_libraries(${ch}_test_objects PUBLIC mock_db GTest::gmock)
  target_link_libraries(${ch}_bench_objects PUBLIC mock_db benchmark::benchmark)
  target_link_libraries(${ch}_demo_objects PUBLIC mock_db)
  foreach(kind test bench demo)
    target_include_directories(${ch}_${kind}_objects PUBLIC "${exercise_dir}")
    target_link_libraries(${ch}_${kind}_objects PUBLIC ${CHAPTER_LIBRARIES})
  endforeach()
  workbook_compile_as_test(${ch}_test_objects)
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
    target_link_libraries(${ch}_${variant} PUBLIC mock_db ${ch}_support workbook_variant_${variant}
                                                  ${CHAPTER_LIBRARIES})
    workbook_use_pch(${ch}_${variant})
    set(test_library ${ch}_${variant})
    if(variant STREQUAL "learner" AND _WORKBOOK_LEARNER_CHECK_OPTIONS)
      # ./workbook check compiles the learner's copy after every edit: its
      # test gets a copy of its own, compiled for speed (see above); the demo
      # and the benchmark keep the build type's optimisation.
      set(test_library ${ch}_learner_check)
      add_library(${test_library} STATIC ${sources})
      target_include_directories(${test_library} PUBLIC "${exercise_dir}")
      target_link_libraries(${test_library} PUBLIC mock_db ${ch}_support workbook_variant_learner
                                                   ${CHAPTER_LIBRARIES})
      workbook_use_pch(${test_library})
      target_compile_options(${test_library} PRIVATE -Wno-error ${_WORKBOOK_LEARNER_CHECK_OPTIONS})
      set_target_properties(${test_library} PROPERTIES EXCLUDE_FROM_ALL ON)
    endif()

    add_executable(${ch}_test_${variant} $<TARGET_OBJECTS:${ch}_test_objects>)
    target_link_libraries(${ch}_test_${variant} PRIVATE ${test_library} GTest::gmock GTest::gtest_main)
    add_executable(${benchmark}_${variant} $<TARGET_OBJECTS:${ch}_bench_objects>)
    target_link_libraries(${benchmark}_${variant} PRIVATE ${ch}_${variant} benchmark::benchmark)
    if(NOT variant STREQUAL "learner")
      workbook_benchmark_program(${benchmark}_${variant})
    endif()
    add_executable(${ch}_demo_${variant} $<TARGET_OBJECTS:${ch}_demo_objects>)
    target_link_libraries(${ch}_demo_${variant} PRIVATE ${ch}_${variant})
    add_custom_target(${ch}_${variant}_all DEPENDS ${ch}_test_${variant} ${ch}_demo_${variant})
    if(variant STREQUAL "learner")
      # The learner's copy is built by ./workbook check/run/bench only: a copy
      # that does not compile yet must not break the workbook's own build.
      set_target_properties(${ch}_${variant} ${ch}_test_${variant} ${benchmark}_${variant}
        ${ch}_demo_${variant} PROPERTIES EXCLUDE_FROM_ALL ON)
      # A work in progress has unused variables and parameters: they are
      # shown as warnings, not reported as "does not compile". A discarded
      # [[nodiscard]] result (-Werror=unused-result) stays an error: it is
      # the bug of chapter 04, not an unfinished edit.
      target_compile_options(${ch}_${variant} PRIVATE -Wno-error)
      # Full debug information in the learner's own code (the rest has line
      # tables only): a debugger shows its variables.
      target_compile_options(${ch}_${variant} PRIVATE -g)
      # ./workbook check relinks the learner's test after every edit: linked
      # with gold and uncompressed debug info it takes a fifth of the CPU time
      # (about 0.15 s instead of 0.7 s), for one larger program per chapter started.
      target_link_options(${ch}_test_${variant} PRIVATE ${_WORKBOOK_LEARNER_LINK_OPTIONS})
    endif()
  endforeach()

  workbook_add_compile_fail_tests("${PROJECT_SOURCE_DIR}/tests/${name}/compile_fail" ${name}
                                  ${ch}_fix)

  # The wrong-fix gallery; chNN_gallery builds all of the chapter's entries.
  add_custom_target(${ch}_gallery)
  if(NOT TARGET galleries)
    add_custom_target(galleries)
  endif()
  add_dependencies(galleries ${ch}_gallery)
  if(WORKBOOK_GALLERY AND NOT TARGET workbook_variant_gallery)
    # workbook::variant_name() is "gallery" in an entry's test program.
    add_library(workbook_variant_gallery STATIC "${PROJECT_SOURCE_DIR}/harness/src/variant.cpp")
    target_include_directories(workbook_variant_gallery PUBLIC "${PROJECT_SOURCE_DIR}/harness/include")
    target_compile_definitions(workbook_variant_gallery PRIVATE WORKBOOK_VARIANT="gallery")
  endif()
  _workbook_gallery(${ch} "${name}" "${files}" "${exercise_dir}")

  # "solution" runs in the sanitizer stages too; "pitfall" only where the lesson is shown.
  workbook_add_gtests(${ch}_test_fix "${name}/fix" "chapter;solution;${name}")
  workbook_register_flaky(gtest ${name}/fix ${ch}_test_fix "")
  workbook_register_flaky(pitfall ${name}/pitfall ${ch}_test_pitfall "${signature}")
  add_test(NAME ${name}/pitfall
    COMMAND ${CMAKE_COMMAND} -DBINARY=$<TARGET_FILE:${ch}_test_pitfall> -DCHAPTER=${name}
            "-DSIGNATURE=${signature}" -P "${PROJECT_SOURCE_DIR}/cmake/ExpectFailure.cmake")
  add_test(NAME ${name}/demo COMMAND ${ch}_demo_fix)
  add_test(NAME ${name}/bench-smoke COMMAND ${benchmark}_fix --benchmark_min_time=0.001)
  add_test(NAME ${name}/bench-smoke-pitfall COMMAND ${benchmark}_pitfall --benchmark_min_time=0.001)
  set_tests_properties(${name}/pitfall ${name}/demo ${name}/bench-smoke
    ${name}/bench-smoke-pitfall PROPERTIES TIMEOUT ${WORKBOOK_TEST_TIMEOUT})
  set_tests_properties(${name}/demo ${name}/bench-smoke PROPERTIES LABELS "chapter;solution;${name}")
  set_tests_properties(${name}/pitfall ${name}/bench-smoke-pitfall
    PROPERTIES LABELS "chapter;pitfall;${name}")
  workbook_bench_smoke_tests(${name}/bench-smoke ${name}/bench-smoke-pitfall)
  set_tests_properties(${name}/demo PROPERTIES ENVIRONMENT "NO_COLOR=1")
endfunction()
