# Tests of what builds the documentation site, on scratch files (no build, no
# browser; a second or two): the CTest test docs/site.
#   docs/site-filter.awk        both editions of a lesson, a page quoting a
#                               fix, the home page and the links it rewrites;
#   cmake/StudentEdition.cmake  fails on a site that shows a fix (each kind),
#                               naming the page, and passes on one that does not;
#   cmake/DocsChapterList.cmake what the chapter list says about gaps.
#
#   cmake -DROOT=<repository> -DWORK=<scratch directory> -P CheckDocsSite.cmake
cmake_minimum_required(VERSION 3.25)

# Functions, not macros: a macro would read the backslashes of its arguments again.
set_property(GLOBAL PROPERTY failures 0)
function(fail what)
  message(SEND_ERROR "${what}")
  get_property(n GLOBAL PROPERTY failures)
  math(EXPR n "${n} + 1")
  set_property(GLOBAL PROPERTY failures ${n})
endfunction()
# expect(TEXT CONTAINS|LACKS NEEDLE WHAT)
function(expect text how needle what)
  string(FIND "${text}" "${needle}" at)
  if(how STREQUAL "CONTAINS" AND at EQUAL -1)
    fail("${what}: expected to find\n  ${needle}\nin:\n${text}")
  elseif(how STREQUAL "LACKS" AND NOT at EQUAL -1)
    fail("${what}: expected not to find\n  ${needle}\nin:\n${text}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/chapters/02-two" "${WORK}/solutions/02-two" "${WORK}/site")
find_program(AWK awk REQUIRED)

# --- docs/site-filter.awk ---------------------------------------------------
file(WRITE "${WORK}/chapters.tsv" "01\tOne\n02\tTwo \"quoted\"\n03\tThree\n")
set(fence "```")
file(WRITE "${WORK}/chapters/02-two/README.md" "# Chapter 02 · Two {#ch02}

See [the `executor`](../../docs/glossary.md#executor) and [a
term](../../docs/glossary.md#term), [the interface](../../mock_db/interface/include/mockdb/database.hpp)
and [a test](../../tests/02-two/two_test.cpp). He said \"use `co_await` here\".

## Try it yourself

Edit it.

## The fix

<details><summary>The fix, explained</summary>

FIX-PROSE explains it.

<!-- snippet: solutions/02-two/two.cpp fix -->
${fence}cpp
FIX-CODE();
${fence}

### A subsection

FIX-SUBSECTION.

</details>

## The measurement

MEASURED.
")
file(WRITE "${WORK}/README.md" "# Home

<!-- chapter list -->

${fence}text
$ ./workbook check 01
ok
$ ./workbook solution 01
+++ solutions/01-one/one.cpp
+  FIX-DIFF
$ ./workbook bench 01
BENCHED
${fence}

<!-- snippet: solutions/02-two/two.cpp fix -->
${fence}cpp
FIX-QUOTED();
${fence}

After.
")
foreach(edition full student)
  foreach(page chapters/02-two/README.md README.md)
    execute_process(
      COMMAND "${AWK}" -v edition=${edition} -v chapters=${WORK}/chapters.tsv
              -f "${ROOT}/docs/site-filter.awk" "${WORK}/${page}"
      OUTPUT_VARIABLE out_${edition}_${page} RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      fail("site-filter.awk (${edition}) failed on ${page}: ${rc}")
    endif()
  endforeach()
endforeach()
set(lesson_full "${out_full_chapters/02-two/README.md}")
set(lesson_student "${out_student_chapters/02-two/README.md}")
set(home_full "${out_full_README.md}")
set(home_student "${out_student_README.md}")

foreach(edition full student)
  set(lesson "${lesson_${edition}}")
  expect("${lesson}" CONTAINS "[the executor](#executor)" "${edition}: a glossary link, its backticks gone")
  expect("${lesson}" CONTAINS "term](#term)" "${edition}: a glossary link whose text wraps a line")
  expect("${lesson}" CONTAINS "[the interface](database_8hpp_source.html)" "${edition}: a header's link, to its listing")
  expect("${lesson}" CONTAINS " a test. He" "${edition}: a link out of the site keeps only its text")
  expect("${lesson}" CONTAINS "“use `co_await` here”" "${edition}: quotes in prose become curly")
  expect("${lesson}" CONTAINS "\\ref ch01 \"← Chapter 01 · One\" · \\ref chapters \"all chapters\" · \\ref ch03 \"Chapter 03 · Three →\""
    "${edition}: previous and next chapter at the end of a lesson")
  expect("${lesson}" LACKS "<details>" "${edition}: <details> (Doxygen 1.9.4 splits it)")
  expect("${lesson}" CONTAINS "MEASURED." "${edition}: the measurement")
  expect("${lesson}" CONTAINS "## Try it yourself" "${edition}: the exercise")
endforeach()
foreach(fix "## The fix" "FIX-PROSE" "FIX-CODE" "FIX-SUBSECTION")
  expect("${lesson_full}" CONTAINS "${fix}" "full edition: the fix section")
  expect("${lesson_student}" LACKS "${fix}" "student edition: the fix section")
endforeach()
expect("${lesson_student}" CONTAINS "leaves out the fix" "student edition: says the fix is left out")
expect("${lesson_student}" CONTAINS "./workbook solution 02" "student edition: says where the fix is")
expect("${home_full}" CONTAINS "<li>\\ref ch02 \"Chapter 02 · Two 'quoted'\"</li>" "home page: the chapter list")
expect("${home_full}" CONTAINS "<li>\\ref ch03 \"Chapter 03 · Three\"</li></ul>\n\n${fence}text" "home page: the chapter list, on the marker's line")
expect("${home_full}" LACKS "<!-- chapter list -->" "home page: the marker replaced")
foreach(fix "+++ solutions/" "FIX-DIFF" "FIX-QUOTED")
  expect("${home_full}" CONTAINS "${fix}" "full edition: the home page's fix")
  expect("${home_student}" LACKS "${fix}" "student edition: the home page's fix")
endforeach()
foreach(kept "$ ./workbook solution 01" "$ ./workbook bench 01" "BENCHED" "After.")
  expect("${home_student}" CONTAINS "${kept}" "student edition: what follows a left-out part")
endforeach()

# --- cmake/StudentEdition.cmake ---------------------------------------------
file(WRITE "${WORK}/chapters/02-two/two.cpp" "int shared() {\n//! [shared]\n  return common_part_of_both(42);\n//! [shared]\n}\n")
file(WRITE "${WORK}/solutions/02-two/two.cpp" "int shared() {\n//! [shared]\n  return common_part_of_both(42);\n//! [shared]\n}\n//! [fix]\n  co_await the_fixed_call(1, \"a;b\");\n  co_return [x] { return x; }();\n//! [fix]\n")
set(clean "<html><body><h1>Chapter 02</h1><p>return common_part_of_both(42);</p></body></html>")
set(code_leak "<html><body><div class=\"fragment\"><div class=\"line\">  <span class=\"keyword\">co_await</span> the_fixed_call(1, &quot;a;b&quot;);</div>\n<div class=\"line\">  co_return [x] { <span>return</span> x; }();</div></div></body></html>")
set(heading_leak "<html><body><h2><a class=\"anchor\" id=\"autotoc_md9\"></a>\nThe fix</h2></body></html>")
set(diff_leak "<html><body><pre>+++ solutions/02-two/two.cpp</pre></body></html>")
function(check_site name expect_ok)
  execute_process(COMMAND "${CMAKE_COMMAND}" -DROOT=${WORK} -DHTML=${WORK}/site/${name}
                          -P "${ROOT}/cmake/StudentEdition.cmake"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  set(output "${out}" PARENT_SCOPE)
  if(expect_ok AND NOT rc EQUAL 0)
    fail("StudentEdition.cmake failed on a site without a fix (${name}):\n${out}")
  elseif(NOT expect_ok AND rc EQUAL 0)
    fail("StudentEdition.cmake passed a site that shows a fix (${name}):\n${out}")
  endif()
endfunction()
file(WRITE "${WORK}/site/clean/ch02.html" "${clean}")
check_site(clean TRUE)
file(WRITE "${WORK}/site/code/ch02.html" "${code_leak}")
check_site(code FALSE)
expect("${output}" CONTAINS "ch02.html: shows the fix's code from solutions/02-two/two.cpp (marker fix)" "the code leak named")
file(WRITE "${WORK}/site/heading/ch02.html" "${heading_leak}")
check_site(heading FALSE)
expect("${output}" CONTAINS "ch02.html: has a heading \"The fix\"" "the heading leak named")
file(WRITE "${WORK}/site/diff/index.html" "${diff_leak}")
check_site(diff FALSE)
expect("${output}" CONTAINS "index.html: shows a diff to solutions/" "the diff leak named")

# --- cmake/DocsChapterList.cmake --------------------------------------------
include("${ROOT}/cmake/DocsChapterList.cmake")
docs_numbering_note(note "00;01;02;03;04;05;06;07;08;09;10" "")
if(NOT note STREQUAL "")
  fail("every chapter written and numbered in sequence, yet the chapter list says: ${note}")
endif()
docs_numbering_note(note "00;01;03;04;07" "04 (The missed co_await)")
expect("${note}" CONTAINS "No chapter has the numbers 02, 05, 06" "numbers missing from the catalog")
expect("${note}" CONTAINS "chapter 04 (The missed co_await) is in the catalog" "a chapter not written yet")

get_property(failures GLOBAL PROPERTY failures)
if(failures GREATER 0)
  message(FATAL_ERROR "${failures} check(s) of the documentation site's tools failed (above)")
endif()
message(STATUS "the site filter, the student edition's check and the chapter list's notes do what they say")
