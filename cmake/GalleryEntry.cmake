# Reads the header of one wrong-fix gallery entry; shared by the configuration
# (cmake/Workbook.cmake, which refuses a malformed entry) and by the test that
# runs it (cmake/ExpectWrongFix.cmake, which reads it again so that an edited
# header counts without configuring again). The format, in
# docs/adding-a-chapter.md:
#   tests/NN-slug/wrong-fixes/<name>.cpp    line 1  // WRONG: <what is wrong>
#                                           line 2  // expect: <CMake regex the failing output must match>
#   tests/NN-slug/alternatives/<name>.cpp   line 1  // RIGHT: <why it is correct>
# <name> is lowercase words separated by dashes.

# workbook_read_gallery_entry(<path> <wrong-fix|alternative> <what> <expect> <error>)
# sets <what> to line 1's sentence, <expect> to line 2's regex (wrong fixes),
# and <error> to what is malformed, or to "" when the entry is well formed.
function(workbook_read_gallery_entry path kind what_out expect_out error_out)
  set(what "")
  set(expect "")
  set(error "")
  get_filename_component(stem "${path}" NAME_WLE)
  # Only the first lines matter; read them as one string (a CMake list would
  # split the C++ at every semicolon).
  file(READ "${path}" head LIMIT 4096)
  string(REPLACE "\r" "" head "${head}")
  if(kind STREQUAL "wrong-fix")
    set(tag "WRONG")
    set(says "what is wrong with this fix")
  else()
    set(tag "RIGHT")
    set(says "why this fix is correct")
  endif()
  if(NOT stem MATCHES "^[a-z0-9]+(-[a-z0-9]+)*$")
    string(CONCAT error "its name \"${stem}\" must be lowercase words separated by dashes, "
                        "such as \"sleep-long-enough\": it becomes the CTest test's name")
  elseif(NOT head MATCHES "^// ${tag}: ([^\n]*[^ \n][^\n]*)")
    string(REGEX MATCH "^[^\n]*" first "${head}")
    string(CONCAT error "line 1 must be \"// ${tag}: <one sentence: ${says}>\", but it is \"${first}\"")
  else()
    set(what "${CMAKE_MATCH_1}")
    if(kind STREQUAL "wrong-fix")
      if(head MATCHES "^[^\n]*\n// expect: ([^\n]*[^ \n])[ ]*(\n|$)")
        set(expect "${CMAKE_MATCH_1}")
      else()
        string(REGEX MATCH "^[^\n]*\n([^\n]*)" ignored "${head}")
        string(CONCAT error "line 2 must be \"// expect: <regex>\": a CMake regular expression "
          "that the chapter's test output must match when it fails on this wrong fix (a plain, "
          "distinctive phrase of the failure message that names what is wrong, with a "
          "backslash before each of the characters . ( ) [ ] * + ?), but it is "
          "\"${CMAKE_MATCH_1}\"")
      endif()
    endif()
  endif()
  set(${what_out} "${what}" PARENT_SCOPE)
  set(${expect_out} "${expect}" PARENT_SCOPE)
  set(${error_out} "${error}" PARENT_SCOPE)
endfunction()
