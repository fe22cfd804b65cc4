# Proves that a built documentation site gives no answer away: the student
# edition's build (the docs-student target) runs it on its output, and fails
# if a fix is still there.
#
# What counts as a fix, read from the repository rather than from the filter
# that leaves the fixes out (docs/site-filter.awk), so that a filter that
# misses one is caught:
#   - every block of a solutions/ source between two "//! [marker]" lines (the
#     code a lesson quotes as its fix), unless the pitfall's file of the same
#     name in chapters/ has the same code (a part the two share);
#   - a heading "The fix" (each lesson's fix section, the chapter contract's
#     section 5);
#   - "+++ solutions/", the diff that ./workbook solution prints.
# Code is compared as text, with the HTML tags gone and the whitespace
# collapsed, so Doxygen's syntax highlighting does not hide it.
#
#   cmake -DROOT=<repository> -DHTML=<site's html directory> -P StudentEdition.cmake
cmake_minimum_required(VERSION 3.25)

foreach(var ROOT HTML)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "usage: cmake -DROOT=<repository> -DHTML=<html directory> -P StudentEdition.cmake")
  endif()
endforeach()
if(NOT IS_DIRECTORY "${HTML}")
  message(FATAL_ERROR "no site to check: ${HTML} is not a directory (build the docs-student target first)")
endif()

# Text with its tags removed, entities decoded and whitespace collapsed.
function(_plain out text)
  string(REGEX REPLACE "<[^>]*>" "" text "${text}")
  string(REPLACE "&lt;" "<" text "${text}")
  string(REPLACE "&gt;" ">" text "${text}")
  string(REPLACE "&quot;" "\"" text "${text}")
  string(REPLACE "&#39;" "'" text "${text}")
  string(REPLACE "&#160;" " " text "${text}")
  string(REPLACE "&nbsp;" " " text "${text}")
  string(REPLACE "&amp;" "&" text "${text}")
  string(REGEX REPLACE "[ \t\r\n]+" " " text "${text}")
  string(STRIP "${text}" text)
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# CMake's lists split at ";" and treat "[" and "]" specially, and code is full
# of them: every text compared here has them replaced by control characters.
string(ASCII 28 open_bracket)
string(ASCII 29 close_bracket)
string(ASCII 30 semicolon)
function(_encode out text)
  string(REPLACE ";" "${semicolon}" text "${text}")
  string(REPLACE "[" "${open_bracket}" text "${text}")
  string(REPLACE "]" "${close_bracket}" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# The fixes' code: each marked block of a solutions/ source, as plain text.
set(fix_blocks "")
set(fix_names "")
file(GLOB_RECURSE sources LIST_DIRECTORIES false RELATIVE "${ROOT}"
  "${ROOT}/solutions/*.cpp" "${ROOT}/solutions/*.hpp" "${ROOT}/solutions/*.h")
set(marker_line "//! ${open_bracket}([A-Za-z0-9_-]+)${close_bracket}")
foreach(source ${sources})
  file(READ "${ROOT}/${source}" text)
  _encode(text "${text}")
  string(REPLACE "\n" ";" lines "${text}")
  string(REGEX REPLACE "^solutions/" "chapters/" pitfall "${source}")
  set(pitfall_text "")
  if(EXISTS "${ROOT}/${pitfall}")
    file(READ "${ROOT}/${pitfall}" pitfall_text)
    _encode(pitfall_text "${pitfall_text}")
    string(REGEX REPLACE "[ \t\r\n]+" " " pitfall_text "${pitfall_text}")
  endif()
  set(open "")
  set(block "")
  foreach(line IN LISTS lines)
    if(line MATCHES "${marker_line}")
      set(marker "${CMAKE_MATCH_1}")
      if(open STREQUAL "")
        set(open "${marker}")
        set(block "")
        continue()
      elseif(open STREQUAL marker)
        string(REGEX REPLACE "[ \t\r\n]+" " " block "${block}")
        string(STRIP "${block}" block)
        string(LENGTH "${block}" length)
        string(FIND "${pitfall_text}" "${block}" shared)
        if(length GREATER 15 AND shared EQUAL -1)
          list(APPEND fix_blocks "${block}")
          list(APPEND fix_names "${source} (marker ${marker})")
        endif()
        set(open "")
        continue()
      endif()
    endif()
    if(NOT open STREQUAL "")
      string(APPEND block "${line}\n")
    endif()
  endforeach()
endforeach()
list(LENGTH fix_blocks fix_count)
if(fix_count EQUAL 0)
  message(FATAL_ERROR "no marked block (//! [marker]) found in ${ROOT}/solutions: nothing to look for, so this check would prove nothing")
endif()

set(problems "")
file(GLOB pages LIST_DIRECTORIES false "${HTML}/*.html")
list(LENGTH pages page_count)
if(page_count EQUAL 0)
  message(FATAL_ERROR "no HTML page in ${HTML}: nothing to check")
endif()
math(EXPR last "${fix_count} - 1")
foreach(page ${pages})
  get_filename_component(name "${page}" NAME)
  file(READ "${page}" html)
  if(html MATCHES "<h[1-6][^>]*>[ \n]*(<a [^>]*>[^<]*</a>)?[ \n]*The fix[ \n]*</h[1-6]>")
    list(APPEND problems "${name}: has a heading \"The fix\" (a lesson's fix section)")
  endif()
  _plain(text "${html}")
  string(FIND "${text}" "+++ solutions/" at)
  if(NOT at EQUAL -1)
    list(APPEND problems "${name}: shows a diff to solutions/ (the output of ./workbook solution)")
  endif()
  _encode(text "${text}")
  foreach(i RANGE ${last})
    list(GET fix_blocks ${i} block)
    string(FIND "${text}" "${block}" at)
    if(NOT at EQUAL -1)
      list(GET fix_names ${i} what)
      list(APPEND problems "${name}: shows the fix's code from ${what}")
    endif()
  endforeach()
endforeach()

if(problems)
  list(LENGTH problems n)
  list(JOIN problems "\n  " problems)
  message(FATAL_ERROR "the site in ${HTML} gives ${n} answer(s) away:\n  ${problems}\n"
    "The student edition leaves out the fixes with docs/site-filter.awk: a lesson's \"## The fix\" section, "
    "a block quoted from solutions/ (<!-- snippet: solutions/... -->) and a \"$ ./workbook solution\" transcript.")
endif()
message(STATUS "no fix in the ${page_count} pages of ${HTML} (looked for ${fix_count} blocks of solutions/ code, \"The fix\" headings and solution diffs)")
