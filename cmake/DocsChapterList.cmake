# What the documentation's chapter list says about chapter numbers a reader
# will not find there, so that a gap does not look like a mistake. Used by
# docs/CMakeLists.txt; tested by cmake/CheckDocsSite.cmake.

# docs_numbering_note(OUT IDS UNWRITTEN): Markdown for the end of the chapter
# list, empty when every number from 00 to the highest id has a lesson. IDS is
# the catalog's ids (a list such as "00;01;03"); UNWRITTEN the catalog's
# chapters without a lesson yet, each "NN (title)".
function(docs_numbering_note out ids unwritten)
  set(note "")
  if(unwritten)
    list(LENGTH unwritten n)
    list(JOIN unwritten ", " names)
    if(n EQUAL 1)
      set(names "chapter ${names} is")
    else()
      set(names "chapters ${names} are")
    endif()
    string(APPEND note "\nNot written yet, and so not in this list: ${names} in the catalog, "
      "and keep their numbers (the seed guide's order), so the gap is a chapter to come.\n")
  endif()
  set(highest 0)
  foreach(id IN LISTS ids)
    math(EXPR id "${id}")
    if(id GREATER highest)
      set(highest ${id})
    endif()
  endforeach()
  set(unused "")
  foreach(n RANGE ${highest})
    if(n LESS 10)
      set(n "0${n}")
    endif()
    if(NOT n IN_LIST ids)
      list(APPEND unused "${n}")
    endif()
  endforeach()
  if(unused)
    list(LENGTH unused n)
    list(JOIN unused ", " unused)
    if(n EQUAL 1)
      string(APPEND note "\nNo chapter has the number ${unused}: it is not in the catalog.\n")
    else()
      string(APPEND note "\nNo chapter has the numbers ${unused}: they are not in the catalog.\n")
    endif()
  endif()
  set(${out} "${note}" PARENT_SCOPE)
endfunction()
