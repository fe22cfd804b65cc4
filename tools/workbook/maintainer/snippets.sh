# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# snippets: the lessons' code excerpts
# ---------------------------------------------------------------------------

help_snippets() {
  cat <<EOF
usage: ./workbook snippets [--fix] [CHAPTER|PAGE ...]

The lessons (chapters/*/README.md, docs/*.md, README.md) quote code as plain
Markdown, readable in an editor and on a Git host: a comment naming a source
file and a marker, then a fenced block holding the lines between the source's
two //! [marker] lines:

  <!-- snippet: solutions/01-blocking-in-coroutines/fingerprint_service.cpp fix -->
  \`\`\`cpp
  ...
  \`\`\`

Without --fix, checks that every block is its source's lines, exactly, and
names each one that is not (the lesson, the line, the source and the first
difference); the test docs/snippets does the same. With --fix, rewrites the
blocks from the sources, adds the block a comment lacks, and converts a
Doxygen \\snippet line into a comment and a block; read the diff afterwards.
A source or marker that cannot be found is reported, never guessed.
Name chapters (05) or pages (docs/harness.md) to check or fix only their
lessons; without, every lesson, docs/*.md and README.md.
Exits 1 if a block differs (without --fix) or a quote cannot be made.
EOF
}

cmd_snippets() {
  local fix=OFF arg page pages=() matches
  for arg in "$@"; do
    case ${arg} in
      --fix) fix=ON ;;
      -*) die 2 "unexpected option '${arg}' (see ./workbook snippets --help)" ;;
      *.md)
        [[ -f ${arg} ]] || die 2 "no such page: ${arg}"
        pages+=("$(realpath -- "${arg}")")
        ;;
      *)
        # A chapter: "05", "5" or "05-timeouts"; its lesson, found by name
        # (no build needed).
        page=${arg}
        [[ ${page} =~ ^[0-9]$ ]] && page="0${page}"
        matches=("${ROOT}"/chapters/"${page%%-*}"-*/README.md)
        [[ -f ${matches[0]} ]] ||
          die 2 "unknown chapter '${arg}': no chapters/${page%%-*}-*/README.md (name a chapter such as 05, or a page such as docs/harness.md)"
        pages+=("${matches[0]}")
        ;;
    esac
  done
  command -v cmake >/dev/null 2>&1 || die 3 "cmake is not installed: ./workbook doctor says how to install it"
  local rc=0 files=()
  if [[ ${#pages[@]} -gt 0 ]]; then files=("-DFILES=$(join ';' "${pages[@]}")"); fi
  # CMake's own prefixes ("-- ", "CMake Error at ...") say nothing to a reader.
  cmake "-DROOT=${ROOT}" "-DFIX=${fix}" "${files[@]}" -P "${ROOT}/cmake/LessonSnippets.cmake" 2>&1 |
    sed -e 's/^-- //' -e '/^CMake Error at .*(message):$/d' || rc=$? # pipefail: cmake's status
  [[ ${rc} -eq 0 ]] || exit 1
}
