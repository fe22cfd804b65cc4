# The documentation site's view of a Markdown page: Doxygen runs every *.md
# input through this filter (FILTER_PATTERNS in docs/Doxyfile.in) and reads its
# output instead of the file. The files themselves stay what a reader sees in an
# editor or on a Git host.
#
#   awk -v edition=full|student -v chapters=<chapters.tsv> -f site-filter.awk PAGE.md
#
# chapters.tsv (written by docs/CMakeLists.txt from the catalog) holds one line
# per chapter that has a lesson, in order: "NN<TAB>title".
#
# Both editions:
#   - a link to another page's anchor, [text](../../docs/glossary.md#executor),
#     becomes [text](#executor), which Doxygen resolves to that anchor on
#     whichever page defines it (Doxygen 1.9.4 leaves a page#fragment link as
#     it is, a dead link on the site). Not @ref: Doxygen turns that into
#     \ref x "text", which breaks when the text wraps a line;
#   - [`code`](page.md#anchor) loses its backticks, and so does a heading:
#     Doxygen 1.9.4 would show them, or "<tt>", as text; for the same reason,
#     straight double quotes in prose become curly ones (see curly_quotes);
#   - a link to a file of the repository that is not a page leads out of the
#     site: to a mock_db/ or harness/ header it becomes a link to Doxygen's
#     listing of the header; any other keeps its text without the link;
#   - <details>, <summary> and </details> lines are blanked: Doxygen 1.9.4
#     splits such a block into one collapsed "Details" per paragraph;
#   - a lesson (chapters/NN-slug/README.md) ends with links to the previous
#     chapter, the chapter list and the next chapter;
#   - the line "<!-- chapter list -->" (in README.md, the home page) becomes a
#     list linking every chapter.
# The student edition (edition=student) also leaves out the answers:
#   - a lesson's "## The fix" section, up to the next "## " heading, becomes a
#     note saying where to read it once the learner's copy passes;
#   - a code block quoted from solutions/ (a "<!-- snippet: solutions/..."
#     comment and the fenced block after it), on any page;
#   - inside a fenced block, the output of "$ ./workbook solution" (up to the
#     next "$ " line or the end of the block): the diff of a fix.
# Lines are only ever blanked, never added or removed, except where the student
# edition leaves something out and where a lesson's links are appended at its
# end, so Doxygen's warnings name the lines of the file as it is.
# POSIX awk (Debian's mawk): no gensub, no backreferences.

BEGIN {
  count = 0
  if (chapters != "") {
    while ((getline line < chapters) > 0) {
      split(line, field, "\t")
      count++
      ids[count] = field[1]
      titles[count] = field[2]
      # A title is quoted in a \ref: no double quotes in it.
      gsub(/"/, "'", titles[count])
    }
    close(chapters)
  }
  fence = ""          # the open fence's marker (``` or ~~~ and longer), or ""
  skipping_fix = 0    # inside a lesson's "## The fix" section (student edition)
  skipping_block = 0  # 1: a solutions/ quote's block is next; 2: inside it
  skipping_diff = 0   # inside a "$ ./workbook solution" transcript
  lesson_id = ""
}

FNR == 1 {
  lesson_id = ""
  in_quote = 0
  code_run = 0
  in_tag = 0
  if (match(FILENAME, /chapters\/[0-9][0-9]-[^\/]*\/README\.md$/))
    lesson_id = substr(FILENAME, RSTART + 9, 2)
}

# The marker that opens a fence on this line ("" if none): three or more ` or ~.
function fence_marker(text,    trimmed, c, n) {
  trimmed = text
  sub(/^ */, "", trimmed)
  c = substr(trimmed, 1, 1)
  if (c != "`" && c != "~") return ""
  n = 0
  while (substr(trimmed, n + 1, 1) == c) n++
  if (n < 3) return ""
  return substr(trimmed, 1, n)
}

# Whether this line closes the fence opened by `marker`.
function closes(text, marker,    trimmed) {
  trimmed = text
  sub(/^ */, "", trimmed)
  sub(/ *$/, "", trimmed)
  if (index(trimmed, marker) != 1) return 0
  trimmed = substr(trimmed, length(marker) + 1)
  return trimmed ~ ("^" (substr(marker, 1, 1) == "`" ? "`" : "~") "*$")
}

# [text](path.md#fragment) -> [text](#fragment), for every such link on the
# line, without backticks in its text: Doxygen shows the backticks of a code
# span in such a link's text as they are.
function local_anchors(text,    out, piece, before, label) {
  out = ""
  while (match(text, /\]\([^()#: ]*\.md#[A-Za-z0-9_-]+\)/)) {
    piece = substr(text, RSTART, RLENGTH)
    before = substr(text, 1, RSTART - 1)
    text = substr(text, RSTART + RLENGTH)
    # The link's text, when it starts on this line.
    if (match(before, /\[[^\[]*$/)) {
      label = substr(before, RSTART)
      gsub(/`/, "", label)
      before = substr(before, 1, RSTART - 1) label
    }
    out = out before "](" substr(piece, index(piece, "#"))
  }
  return out text
}

# A link to a file of the repository that is not a page ([text](../../x/y.cpp))
# would lead out of the site, and be dead once the site is published. A header
# of mock_db/ or harness/ (in lower case, as all are) has a page of its own,
# Doxygen's listing of it, name_8hpp_source.html; any other such link keeps its
# text without the link.
function file_links(text,    out, piece, target, name, before, rest) {
  out = ""
  while (match(text, /\]\([^()#: ]+\)/)) {
    piece = substr(text, RSTART, RLENGTH)
    target = substr(piece, 3, length(piece) - 3)
    if (target ~ /\.md$/ || target ~ /^[A-Za-z][A-Za-z0-9+.-]*:/ || target ~ /^[\/]/ ||
        target ~ /^[A-Za-z0-9_-]+\.html$/) {
      out = out substr(text, 1, RSTART + RLENGTH - 1)
    } else if (target ~ /(^|\/)(mock_db|harness)\/.*\/[a-z0-9_]+\.hpp$/) {
      name = target
      sub(/.*\//, "", name)
      gsub(/_/, "__", name)
      sub(/\.hpp$/, "_8hpp_source.html", name)
      out = out substr(text, 1, RSTART - 1) "](" name ")"
    } else {
      # The text only: drop the "[" that opened the link, and its target.
      before = substr(text, 1, RSTART - 1)
      rest = substr(text, RSTART + RLENGTH)
      if (match(before, /\[[^\[]*$/) && (RSTART == 1 || substr(before, RSTART - 1, 1) != "!"))
        out = out substr(before, 1, RSTART - 1) substr(before, RSTART + 1)
      else
        out = out before "](" target ")"
      text = rest
      continue
    }
    text = substr(text, RSTART + RLENGTH)
  }
  return out text
}

# Straight double quotes in prose become curly ones: Doxygen 1.9.4 does not
# process Markdown between straight quotes, so a code span in a quotation
# ("... `co_await` ...") would show its backticks, or "<tt>", as text. Quotes
# in a code span or an HTML tag stay; the state (inside a quotation, inside a
# code span) carries over the lines of a paragraph.
function curly_quotes(text,    out, i, c, n, run) {
  out = ""
  n = length(text)
  for (i = 1; i <= n; i++) {
    c = substr(text, i, 1)
    if (c == "`") {
      run = 1
      while (substr(text, i + run, 1) == "`") run++
      if (code_run == 0) code_run = run
      else if (code_run == run) code_run = 0
      out = out substr(text, i, run)
      i += run - 1
      continue
    }
    if (code_run == 0 && c == "<" && substr(text, i + 1, 1) ~ /[A-Za-z\/!]/) in_tag = 1
    if (in_tag && c == ">") in_tag = 0
    if (c == "\"" && code_run == 0 && !in_tag) {
      c = in_quote ? "”" : "“"
      in_quote = !in_quote
    }
    out = out c
  }
  return out
}

function chapter_link(i, arrow_before, arrow_after) {
  return "\\ref ch" ids[i] " \"" arrow_before "Chapter " ids[i] " · " titles[i] arrow_after "\""
}

# One line (an HTML list), so that the lines after it keep their numbers.
function print_chapter_list(    i, list) {
  list = "Every chapter, in order (the *Chapters* tab at the top of each page lists them too): <ul>"
  for (i = 1; i <= count; i++)
    list = list "<li>" chapter_link(i, "", "") "</li>"
  print list "</ul>"
}

# The links at the end of a lesson: previous chapter, all chapters, next chapter.
function print_lesson_links(    i, here, links) {
  here = 0
  for (i = 1; i <= count; i++)
    if (ids[i] == lesson_id) here = i
  if (here == 0) return
  links = ""
  if (here > 1) links = chapter_link(here - 1, "← ", "") " · "
  links = links "\\ref chapters \"all chapters\""
  if (here < count) links = links " · " chapter_link(here + 1, "", " →")
  print ""
  print "<hr>"
  print ""
  print links
}

function print_fix_note() {
  print "*This edition of the documentation leaves out the fix. Once your copy passes"
  print "(`./workbook check " lesson_id "`), `./workbook solution " lesson_id "` shows the reference fix,"
  print "and this chapter's lesson in the repository explains it.*"
  print ""
}

{
  line = $0

  if (fence != "") {
    # Inside a fenced block.
    if (closes(line, fence)) {
      fence = ""
      skipping_diff = 0
      if (skipping_block == 2) {
        skipping_block = 0
        next
      }
      if (!skipping_fix) print line
      next
    }
    if (skipping_fix || skipping_block) next
    if (edition == "student") {
      if (line ~ /^\$ \.\/workbook solution/) {
        skipping_diff = 1
        print line
        print "(left out of this edition: the diff from the broken code to the fix)"
        next
      }
      if (skipping_diff && line ~ /^\$ /) skipping_diff = 0
      if (skipping_diff) next
    }
    print line
    next
  }

  marker = fence_marker(line)

  if (edition == "student" && lesson_id != "") {
    if (line ~ /^## The fix/) {
      skipping_fix = 1
      print_fix_note()
      next
    }
    if (skipping_fix && line ~ /^##? /) skipping_fix = 0
  }
  if (edition == "student" && line ~ /^<!-- snippet: solutions\//) {
    skipping_block = 1
    if (!skipping_fix) print "*(The fix's code is left out of this edition.)*"
    next
  }
  if (marker != "") {
    fence = marker
    in_quote = 0
    code_run = 0
    in_tag = 0
    if (skipping_block == 1) {
      skipping_block = 2
      next
    }
    if (!skipping_fix) print line
    next
  }
  # A solutions/ quote's comment without its block: nothing more to leave out.
  if (skipping_block == 1 && line !~ /^[ \t]*$/) skipping_block = 0
  if (skipping_fix) next

  if (line ~ /^[ \t]*<details>/ || line ~ /^[ \t]*<\/details>[ \t]*$/ || line ~ /^[ \t]*<summary>.*<\/summary>[ \t]*$/) {
    print ""
    next
  }
  if (line ~ /^<!-- chapter list -->[ \t]*$/) {
    print_chapter_list()
    next
  }
  # A heading: Doxygen 1.9.4 shows a code span in one as "<tt>...</tt>".
  if (line ~ /^#+ /) gsub(/`/, "", line)
  # A blank line or a heading ends a paragraph, and whatever it left open.
  if (line ~ /^[ \t]*$/ || line ~ /^#+ /) {
    in_quote = 0
    code_run = 0
    in_tag = 0
  }
  # A Doxygen command's quoted text (\ref x "text") keeps its quotes.
  if (line ~ /[\\@](ref|subpage) /) print file_links(local_anchors(line))
  else print curly_quotes(file_links(local_anchors(line)))
}

END {
  if (lesson_id != "") print_lesson_links()
}
