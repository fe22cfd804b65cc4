# The test docs/checkers: proves that the checking scripts fail when they
# must, with the message they promise, and pass when they must. A checker
# that cannot fail would let every lesson, link and gallery entry through.
# Each case builds a small scratch repository under WORK and runs a script on
# it in a child cmake, as the build and ./workbook do:
#   LessonSnippets.cmake  a drifted block, a \snippet line, a comment without
#                         a block, a missing marker; --fix repairs what it can
#   DocLinks.cmake        links to a chapter not written, a file that is not
#                         there, an anchor no page defines, \ref chNN
#   ExpectWrongFix.cmake  a wrong fix that passes, crashes, hangs or fails for
#                         another reason; one that fails as it should; an
#                         alternative that passes and one that fails
#   GalleryEntry.cmake    malformed entries
#
#   cmake -DWORK=<scratch directory> -P CheckDocScripts.cmake
cmake_minimum_required(VERSION 3.25)
set(scripts "${CMAKE_CURRENT_LIST_DIR}")
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
set(failures "")

# Runs script `name` with the -D arguments that follow `--`, and checks its
# exit status (0 or "fails") and that its output contains each of `expected`.
function(expect what status name)
  cmake_parse_arguments(arg "" "" "CONTAINS;ARGS" ${ARGN})
  execute_process(COMMAND ${CMAKE_COMMAND} ${arg_ARGS} -P "${scripts}/${name}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  # CMake reflows long messages: compare with the line breaks as spaces.
  string(REGEX REPLACE "[ \n]+" " " flat "${out}")
  set(problem "")
  if(status STREQUAL "passes" AND NOT rc EQUAL 0)
    set(problem "should pass, but exited with ${rc}")
  elseif(status STREQUAL "fails" AND rc EQUAL 0)
    set(problem "should fail, but passed")
  endif()
  foreach(text ${arg_CONTAINS})
    string(FIND "${flat}" "${text}" at)
    if(at EQUAL -1)
      string(APPEND problem " its output lacks \"${text}\";")
    endif()
  endforeach()
  if(problem)
    set_property(GLOBAL APPEND_STRING PROPERTY FAILURES
      "  ${what}: ${problem}\n    output: ${out}\n")
  endif()
endfunction()

# --- LessonSnippets.cmake ---------------------------------------------------
set(repo "${WORK}/snippets")
file(WRITE "${repo}/src/a.cpp" "int f() {\n  //! [one]\n  int x[2] = {1, 2};  // ; \\\\ [x]\n\n  return x[0];\n  //! [one]\n}\n")
string(CONCAT good
  "<!-- snippet: src/a.cpp one -->\n```cpp\n  int x[2] = {1, 2};  // ; \\\\ [x]\n\n  return x[0];\n```\n")
file(WRITE "${repo}/good.md" "# Good\n\n${good}\n````md\n\\snippet src/a.cpp one\n````\n")
expect("a lesson whose block is the source" passes LessonSnippets.cmake
  ARGS -DROOT=${repo} -DFILES=good.md CONTAINS "1 quoted blocks in 1 Markdown files")
file(WRITE "${repo}/bad.md"
  "# Bad\n\n<!-- snippet: src/a.cpp one -->\n```cpp\n  int x[2] = {1, 3};  // ; \\\\ [x]\n\n  return x[0];\n```\n"
  "\\snippet src/a.cpp one\n"
  "<!-- snippet: src/a.cpp one -->\ntext\n")
expect("a drifted block, a \\snippet line, a comment without a block" fails LessonSnippets.cmake
  ARGS -DROOT=${repo} -DFILES=bad.md
  CONTAINS "bad.md:3: the block differs from src/a.cpp [one] (its lines 3 to 5): line 1 of the block is"
           "int x[2] = {1, 3};"
           "bad.md:9: a Doxygen \\snippet line"
           "bad.md:10: the snippet comment of src/a.cpp [one] is not followed by a fenced block"
           "./workbook snippets --fix")
expect("--fix repairs them" passes LessonSnippets.cmake ARGS -DROOT=${repo} -DFILES=bad.md -DFIX=ON)
file(READ "${repo}/bad.md" fixed)
if(NOT fixed STREQUAL "# Bad\n\n${good}${good}${good}text\n")
  set_property(GLOBAL APPEND_STRING PROPERTY FAILURES
    "  --fix: the lesson should hold three good quotes, but it is:\n${fixed}\n")
endif()
file(WRITE "${repo}/missing.md" "<!-- snippet: src/a.cpp two -->\n```cpp\n```\n<!-- snippet: src/b.cpp one -->\n```cpp\n```\n")
expect("a marker or source that is not there, even with --fix" fails LessonSnippets.cmake
  ARGS -DROOT=${repo} -DFILES=missing.md -DFIX=ON
  CONTAINS "src/a.cpp has 0 lines \"//! [two]\"" "src/b.cpp does not exist")

# --- DocLinks.cmake ---------------------------------------------------------
set(repo "${WORK}/links")
file(WRITE "${repo}/chapters/03-here/README.md"
  "# Chapter 03 {#ch03}\n<a id=\"term\"></a>\n"
  "[01](../01-there/README.md) [12](../12-later/README.md), [nope](nothing.md)\n"
  "\\ref ch03 and \\ref ch10 \"chapter 10\" (chapter 01, there,\n"
  "coming later) [t](#term) [t2](#no-term) [g](../../docs/glossary.md#executor) [g2](../../docs/glossary.md#handler)\n"
  "`[code](../11-x/)` [web](https://example.org/x)\n```\n[fenced](../13-x/)\n```\n")
file(WRITE "${repo}/chapters/01-there/README.md" "# Chapter 01 {#ch01}\n[03](../03-here/README.md#term)\n")
file(WRITE "${repo}/docs/glossary.md" "# Glossary\n<a id=\"executor\"></a>\n")
expect("links to what does not exist" fails DocLinks.cmake ARGS -DROOT=${repo}
  CONTAINS "chapters/03-here/README.md:3: links to chapter 12 (\"../12-later/README.md\"), but chapter 12 is not written yet"
           "README.md:3: links to \"nothing.md\", which does not exist"
           "README.md:4: \\ref ch10 refers to chapter 10"
           "README.md:5: says chapter 01 is coming later, but it is written (chapters/01-there/README.md): link it"
           "README.md:5: links to \"#no-term\" in chapters/03-here/README.md"
           "README.md:5: links to \"#handler\" in docs/glossary.md")
# Only those six: nothing in code, fences or on the web is followed.
expect("links in code and to the web are not followed" fails DocLinks.cmake ARGS -DROOT=${repo}
  CONTAINS "README.md:5: links to \"#handler\" in docs/glossary.md, which has no such anchor: add <a id=\"handler\"></a> there (a heading's own name is not an anchor on the Doxygen site). Fix each link")
file(WRITE "${repo}/chapters/03-here/README.md" "# Chapter 03 {#ch03}\n<a id=\"term\"></a>\n[01](../01-there/README.md) \\ref ch01 [g](../../docs/glossary.md#executor)\n")
expect("links that lead somewhere" passes DocLinks.cmake ARGS -DROOT=${repo}
  CONTAINS "the links of 3 Markdown pages")

# --- ExpectWrongFix.cmake ---------------------------------------------------
# Stand-ins for a chapter's test program: shell scripts that end as a test can.
set(repo "${WORK}/gallery")
function(program name body)
  file(WRITE "${repo}/${name}.sh" "#!/bin/sh\n${body}\n")
  file(CHMOD "${repo}/${name}.sh" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
endfunction()
program(passes "echo '[  PASSED  ] 2 tests.'; exit 0")
program(names-it "echo 'Failure'; echo 'reads did not overlap: 3 reads took 30 ms'; echo '[  FAILED  ] Suite.Reads (1 ms)'; exit 1")
program(other "echo 'something else went wrong'; exit 1")
program(deadlock "echo 'deadlock: 2 reads did not complete' >&2; exit 86")
program(crashes "kill -SEGV $$")
program(hangs "exec sleep 20")
file(WRITE "${repo}/wrong.cpp" "// WRONG: reads one after another.\n// expect: reads did not overlap: [0-9]+ reads\n")
file(WRITE "${repo}/deadlock.cpp" "// WRONG: blocks the loop.\n// expect: deadlock: 2 reads\n")
file(WRITE "${repo}/right.cpp" "// RIGHT: another design.\n")
function(run what status binary entry kind)
  expect("${what}" ${status} ExpectWrongFix.cmake
    ARGS -DBINARY=${repo}/${binary}.sh -DENTRY=${repo}/${entry}.cpp -DKIND=${kind} -DTEST=t
         -DTARGET=x -DBUILD_DIR=b -DTIMEOUT=2 ${ARGN})
endfunction()
run("a wrong fix that fails as it names" passes names-it wrong wrong-fix
  CONTAINS "fails as it should (exit 1): reads did not overlap: 3 reads took 30 ms")
run("a wrong fix stopped by the watchdog with its report" passes deadlock deadlock wrong-fix)
run("a wrong fix the test lets pass" fails passes wrong wrong-fix
  CONTAINS "PASSED against a wrong fix" "reads one after another.")
run("a wrong fix that fails for another reason" fails other wrong wrong-fix
  CONTAINS "does not match the entry's expect regex" "something else went wrong")
run("a wrong fix that crashes" fails crashes wrong wrong-fix CONTAINS "crashed")
run("a wrong fix that hangs" fails hangs wrong wrong-fix CONTAINS "did not finish within 2 s")
run("an alternative that passes" passes passes right alternative)
run("an alternative the test rejects" fails names-it right alternative
  CONTAINS "rejects a correct fix (exit 1)" "The tests that failed: Suite.Reads.")

# --- GalleryEntry.cmake -----------------------------------------------------
include("${scripts}/GalleryEntry.cmake")
file(WRITE "${repo}/no-expect.cpp" "// WRONG: something.\n#include <x>\n")
file(WRITE "${repo}/no-tag.cpp" "// something.\n")
file(WRITE "${repo}/Bad_Name.cpp" "// WRONG: x\n// expect: y\n")
foreach(case "no-expect;wrong-fix;line 2 must be" "no-tag;alternative;line 1 must be \"// RIGHT:"
             "Bad_Name;wrong-fix;must be lowercase words" "wrong;wrong-fix;" "right;alternative;")
  list(GET case 0 name)
  list(GET case 1 kind)
  list(GET case 2 text)
  workbook_read_gallery_entry("${repo}/${name}.cpp" ${kind} what regex error)
  if(text STREQUAL "" AND error)
    set_property(GLOBAL APPEND_STRING PROPERTY FAILURES "  entry ${name}: refused: ${error}\n")
  elseif(NOT text STREQUAL "" AND NOT error MATCHES "${text}")
    set_property(GLOBAL APPEND_STRING PROPERTY FAILURES
      "  entry ${name}: expected an error with \"${text}\", got \"${error}\"\n")
  endif()
endforeach()

get_property(failures GLOBAL PROPERTY FAILURES)
if(failures)
  message(FATAL_ERROR "The documentation and gallery checkers do not behave as promised:\n"
    "${failures}")
endif()
message(STATUS "the snippet, link and gallery checkers fail and pass as they promise")
