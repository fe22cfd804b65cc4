# Shared by the documentation checkers (DocLinks.cmake, LessonSnippets.cmake):
# which pages they read, and reading a text file as a CMake list of lines.
#
# C++ and Markdown are full of ; [ ] and \, which CMake lists treat as
# separators, brackets and escapes. Each is replaced by a control character
# that source text never holds while the text is handled as a list of lines,
# and put back by _decode on output.
if(NOT ROOT)
  get_filename_component(ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
endif()

string(ASCII 1 _S)
string(ASCII 2 _L)
string(ASCII 3 _R)
string(ASCII 4 _B)

# Reads `path` into `out` as a list of encoded lines.
function(_read_lines out path)
  file(READ "${path}" text)
  string(REPLACE "\r\n" "\n" text "${text}")
  string(REPLACE "\\" "${_B}" text "${text}")
  string(REPLACE ";" "${_S}" text "${text}")
  string(REPLACE "[" "${_L}" text "${text}")
  string(REPLACE "]" "${_R}" text "${text}")
  # A final newline ends the last line; it does not start another.
  string(REGEX REPLACE "\n$" "" text "${text}")
  string(REPLACE "\n" ";" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# Puts back the characters _read_lines replaced.
function(_decode out text)
  string(REPLACE "${_S}" ";" text "${text}")
  string(REPLACE "${_L}" "[" text "${text}")
  string(REPLACE "${_R}" "]" text "${text}")
  string(REPLACE "${_B}" "\\" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# Sets `out` to the pages to check: FILES (absolute, or relative to ROOT) if
# given, else every lesson, every page in docs/ and the README.
function(_markdown_pages out)
  if(DEFINED FILES)
    set(pages "")
    foreach(file ${FILES})
      get_filename_component(file "${file}" ABSOLUTE BASE_DIR "${ROOT}")
      list(APPEND pages "${file}")
    endforeach()
  else()
    file(GLOB pages "${ROOT}/chapters/*/README.md" "${ROOT}/docs/*.md")
    list(APPEND pages "${ROOT}/README.md")
  endif()
  set(${out} "${pages}" PARENT_SCOPE)
endfunction()
