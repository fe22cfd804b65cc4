# Refuses documentation that links to what does not exist: a chapter not
# written yet, a file that is not there, an anchor no page defines.
#
# Chapters are written out of order, so a lesson is tempted to link to one that
# does not exist yet; a reader following it gets a 404 on a Git host and a dead
# link on the site. A chapter that is not written is named without a link
# ("chapter 12, bounded concurrency, coming later").
#
# Read are the Markdown pages (chapters/*/README.md, docs/*.md, README.md),
# outside code blocks and inline code:
#   [text](target) and ![alt](target), [label]: target, <a href="target">
#       a relative target must exist (resolved from the page's folder; "/x"
#       from the repository root); one inside chapters/, solutions/, tests/ or
#       benchmarks/NN-slug/ whose chapter folder is missing is reported as a
#       link to a missing chapter; a #fragment into a Markdown page must be an
#       anchor of that page: <a id="..."></a> or a heading's {#...} (the only
#       anchors that work both on a Git host and on the Doxygen site);
#   \ref chNN and @ref chNN (Doxygen)
#       chapters/NN-*/README.md must exist.
#   "chapter NN, <its subject>, coming later"
#       chapters/NN-*/README.md must not exist (once it does, link it).
# Web links (https:, mailto:, ...) are not followed.
#
#   cmake -DROOT=<repository> [-DFILES=<page;...>] -P DocLinks.cmake
cmake_minimum_required(VERSION 3.25)

include("${CMAKE_CURRENT_LIST_DIR}/MarkdownPages.cmake")

# The anchors a Markdown page defines, as a list: <a id="x">, <a name="x"> and
# Doxygen's {#x} (after a heading). Only these work both on a Git host and on
# the Doxygen site (a heading's generated name differs between the two).
function(_anchors out path)
  get_property(known GLOBAL PROPERTY "anchors:${path}" SET)
  if(known)
    get_property(anchors GLOBAL PROPERTY "anchors:${path}")
    set(${out} "${anchors}" PARENT_SCOPE)
    return()
  endif()
  file(READ "${path}" text)
  set(anchors "")
  string(REGEX MATCHALL "<a (id|name)=\"[^\"]+\"" ids "${text}")
  foreach(id ${ids})
    string(REGEX REPLACE "^<a (id|name)=\"([^\"]+)\"$" "\\2" id "${id}")
    list(APPEND anchors "${id}")
  endforeach()
  string(REGEX MATCHALL "{#[A-Za-z0-9_-]+}" ids "${text}")
  foreach(id ${ids})
    string(REGEX REPLACE "^{#(.*)}$" "\\1" id "${id}")
    list(APPEND anchors "${id}")
  endforeach()
  set_property(GLOBAL PROPERTY "anchors:${path}" "${anchors}")
  set(${out} "${anchors}" PARENT_SCOPE)
endfunction()

# Appends to `problems` (in the caller) what is wrong with `target`, a link
# on line `number` of `page`.
function(_check_target var page shown number target)
  _decode(target "${target}")
  string(REGEX REPLACE "^<(.*)>$" "\\1" target "${target}")
  if(target STREQUAL "" OR target MATCHES "^[A-Za-z][A-Za-z0-9+.-]*:" OR target MATCHES "^[@\\\\]")
    return() # a web link, or a Doxygen reference in a link
  endif()
  set(fragment "")
  if(target MATCHES "^([^#]*)#(.*)$")
    set(target "${CMAKE_MATCH_1}")
    set(fragment "${CMAKE_MATCH_2}")
  endif()
  string(REGEX REPLACE "\\?.*$" "" target "${target}")
  string(REPLACE "%20" " " target "${target}")
  if(target STREQUAL "")
    set(file "${page}")
  elseif(target MATCHES "^/")
    set(file "${ROOT}${target}")
  else()
    get_filename_component(dir "${page}" DIRECTORY)
    get_filename_component(file "${target}" ABSOLUTE BASE_DIR "${dir}")
  endif()
  set(problem "")
  if(NOT EXISTS "${file}")
    file(RELATIVE_PATH rel "${ROOT}" "${file}")
    set(folder "")
    if(rel MATCHES "^(chapters|solutions|tests|benchmarks)/(([0-9][0-9])-[^/]+)")
      set(id "${CMAKE_MATCH_3}")
      set(folder "${CMAKE_MATCH_1}/${CMAKE_MATCH_2}")
      if(IS_DIRECTORY "${ROOT}/${folder}")
        set(folder "")
      endif()
    endif()
    if(folder)
      file(GLOB other RELATIVE "${ROOT}/chapters" "${ROOT}/chapters/${id}-*")
      if(other)
        set(why "${folder}/ does not exist (chapter ${id} is chapters/${other}: correct the slug)")
      else()
        set(why "chapter ${id} is not written yet (${folder}/ does not exist). Name it without a "
                "link, as \"chapter ${id}, <its subject>, coming later\"")
      endif()
      string(CONCAT problem "links to chapter ${id} (\"${target}\"), but " ${why})
    else()
      set(problem "links to \"${target}\", which does not exist (${rel})")
    endif()
  elseif(NOT fragment STREQUAL "" AND file MATCHES "\\.md$" AND NOT IS_DIRECTORY "${file}")
    _anchors(anchors "${file}")
    if(NOT fragment IN_LIST anchors)
      file(RELATIVE_PATH rel "${ROOT}" "${file}")
      set(problem "links to \"#${fragment}\" in ${rel}, which has no such anchor: add "
                  "<a id=\"${fragment}\"></a> there (a heading's own name is not an anchor "
                  "on the Doxygen site)")
      string(CONCAT problem ${problem})
    endif()
  endif()
  if(problem)
    set(${var} "${${var}}  ${shown}:${number}: ${problem}.\n" PARENT_SCOPE)
  endif()
endfunction()

# Appends to `problems` (in the caller) a chapter named "coming later" on line
# `number` (the phrase may start on the line before) that is written by now:
# "chapter 12, bounded concurrency (coming later)" once chapters/12-*/ exists.
function(_check_coming_later var shown number previous line)
  if(NOT line MATCHES "coming later")
    return()
  endif()
  string(FIND "${previous} ${line}" "coming later" at REVERSE)
  string(SUBSTRING "${previous} ${line}" 0 ${at} before)
  string(REGEX MATCHALL "[Cc]hapter ([0-9][0-9])" named "${before}")
  if(NOT named)
    return()
  endif()
  list(GET named -1 last)
  string(FIND "${before}" "${last}" from REVERSE)
  string(SUBSTRING "${before}" ${from} -1 gap)
  if(gap MATCHES "[.;:]")
    return() # another sentence: the phrase is about something else
  endif()
  string(REGEX REPLACE "^.* " "" id "${last}")
  file(GLOB lesson RELATIVE "${ROOT}" "${ROOT}/chapters/${id}-*/README.md")
  if(lesson)
    string(CONCAT problem "${${var}}  ${shown}:${number}: says chapter ${id} is coming later, "
                          "but it is written (${lesson}): link it.\n")
    set(${var} "${problem}" PARENT_SCOPE)
  endif()
endfunction()

function(_page page)
  file(RELATIVE_PATH shown "${ROOT}" "${page}")
  if(shown MATCHES "^\\.\\./")
    set(shown "${page}")
  endif()
  _read_lines(lines "${page}")
  set(problems "")
  set(fence "")
  set(number 0)
  set(previous "")
  foreach(line IN LISTS lines)
    math(EXPR number "${number} + 1")
    if(line MATCHES "^[ \t]*(```+|~~~+)")
      if(fence STREQUAL "")
        set(fence "${CMAKE_MATCH_1}")
      elseif(line MATCHES "^[ \t]*${fence}[`~]*[ \t]*$")
        set(fence "")
      endif()
      continue()
    endif()
    if(NOT fence STREQUAL "")
      continue()
    endif()
    # Code and comments are not links.
    string(REGEX REPLACE "``[^`]*``" "" line "${line}")
    string(REGEX REPLACE "`[^`]*`" "" line "${line}")
    string(REGEX REPLACE "<!--.*-->" "" line "${line}")
    _check_coming_later(problems "${shown}" ${number} "${previous}" "${line}")
    set(previous "${line}")
    # [text](target "title") and ![alt](target)
    string(REGEX MATCHALL "${_R}\\([^) \t]+" links "${line}")
    foreach(link ${links})
      string(REGEX REPLACE "^${_R}\\(" "" target "${link}")
      _check_target(problems "${page}" "${shown}" ${number} "${target}")
    endforeach()
    # [label]: target
    if(line MATCHES "^[ ]*${_L}[^${_R}]+${_R}:[ \t]+([^ \t]+)")
      _check_target(problems "${page}" "${shown}" ${number} "${CMAKE_MATCH_1}")
    endif()
    # <a href="target">
    string(REGEX MATCHALL "href=\"[^\"]*\"" hrefs "${line}")
    foreach(href ${hrefs})
      string(REGEX REPLACE "^href=\"(.*)\"$" "\\1" target "${href}")
      _check_target(problems "${page}" "${shown}" ${number} "${target}")
    endforeach()
    # \ref chNN
    string(REGEX MATCHALL "[${_B}@]ref[ \t]+ch[0-9]+" refs "${line}")
    foreach(ref ${refs})
      string(REGEX REPLACE "^.*ch([0-9]+)$" "\\1" id "${ref}")
      file(GLOB lesson "${ROOT}/chapters/${id}-*/README.md")
      if(NOT lesson)
        string(APPEND problems "  ${shown}:${number}: \\ref ch${id} refers to chapter ${id}, "
          "which is not written yet (no chapters/${id}-*/README.md). Name it without a link, "
          "as \"chapter ${id}, <its subject>, coming later\".\n")
      endif()
    endforeach()
  endforeach()
  set_property(GLOBAL APPEND_STRING PROPERTY LINK_PROBLEMS "${problems}")
endfunction()

_markdown_pages(pages)

set_property(GLOBAL PROPERTY LINK_PROBLEMS "")
set(count 0)
foreach(page ${pages})
  if(EXISTS "${page}")
    _page("${page}")
    math(EXPR count "${count} + 1")
  endif()
endforeach()
get_property(problems GLOBAL PROPERTY LINK_PROBLEMS)
if(problems)
  _decode(problems "${problems}")
  message(FATAL_ERROR "The documentation links to what does not exist:\n${problems}"
    "Fix each link (docs/adding-a-chapter.md, \"Links\"): a chapter that is not written is "
    "named without a link.")
endif()
message(STATUS "the links of ${count} Markdown pages lead to pages, files and chapters that exist")
