# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------

# Prints the project's C++ sources, one per line: the tracked ones in a git
# checkout, otherwise every one outside build directories. A learner's copies
# (my-work/) are theirs: neither formatted nor linted.
source_files() {
  local file
  if command -v git >/dev/null 2>&1 && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # A tracked file deleted in the working tree is still listed: skip it.
    git ls-files -- '*.cpp' '*.hpp' ':!my-work/' | while IFS= read -r file; do
      if [[ -f ${file} ]]; then printf '%s\n' "${file}"; fi
    done
  else
    find . \( -name build -o -name .build -o -name .git -o -path ./my-work \) -prune -o \
      -type f \( -name '*.cpp' -o -name '*.hpp' \) -print | sed 's|^\./||' | sort
  fi
}

# Prints the sources clang-format would change, one per line. Returns 2 (after
# printing its output to stderr) if clang-format itself failed.
unformatted_files() {
  local files=() output rc=0
  mapfile -t files < <(source_files)
  [[ ${#files[@]} -gt 0 ]] || return 0
  output=$(clang-format --dry-run --Werror "${files[@]}" 2>&1) || rc=$?
  [[ ${rc} -eq 0 ]] && return 0
  # Each finding reads "path:line:column: error: code should be clang-formatted [...]".
  local findings
  findings=$(sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' \
    <<<"${output}" | sort -u)
  if [[ -z ${findings} ]]; then
    printf '%s\n' "${output}" >&2
    return 2
  fi
  printf '%s\n' "${findings}"
}

help_format() {
  cat <<EOF
usage: ./workbook format

Reformats the C++ sources (the tracked *.cpp and *.hpp files) in place with
clang-format, following .clang-format, and lists the files it changed.
EOF
}

cmd_format() {
  [[ $# -eq 0 ]] || die 2 "format takes no arguments (see ./workbook format --help)"
  ensure_dependencies
  local findings rc=0
  findings=$(unformatted_files) || rc=$?
  [[ ${rc} -eq 0 ]] || die 1 "clang-format failed (see above)"
  if [[ -z ${findings} ]]; then
    note "all $(source_files | wc -l) files already follow .clang-format"
    return 0
  fi
  local files=()
  mapfile -t files <<<"${findings}"
  clang-format -i "${files[@]}"
  note "reformatted:"
  printf '  %s\n' "${files[@]}"
}
