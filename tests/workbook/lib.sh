# shellcheck shell=bash
# What the tool's end-to-end tests (tests/workbook/*.sh) share: running
# ./workbook, counting checks, and the small build tree each test configures.
# Sourced after the script has set ROOT and WORKBOOK.
#
# Conditions are written in single quotes and evaluated by `expect`, so they
# read like the commands a person would type.

PASSED=0 FAILED=0
OUT="" RC=0

# wb ARGS...: runs ./workbook with no terminal on stdin; its output (stdout
# and stderr) goes to OUT, its exit code to RC.
wb() {
  RC=0
  OUT=$("${WORKBOOK}" "$@" </dev/null 2>&1) || RC=$?
}

pass() {
  PASSED=$((PASSED + 1))
  printf 'ok      %s\n' "$1"
}

# fail NAME [DETAILS]: counts a failed check and shows DETAILS (60 lines at most).
fail() {
  FAILED=$((FAILED + 1))
  printf 'FAILED  %s\n' "$1"
  if [[ -n ${2:-} ]]; then printf '%s\n' "$2" | sed 's/^/        | /' | head -n 60; fi
}

# expect NAME CONDITION...: passes if the command CONDITION succeeds; on
# failure shows the last command's output.
expect() {
  local name=$1
  shift
  if "$@"; then pass "${name}"; else fail "${name}" "exit ${RC}; output:"$'\n'"${OUT}"; fi
}

rc_is() { [[ ${RC} -eq $1 ]]; }
out_has() { grep -qF -- "$1" <<<"${OUT}"; }
out_matches() { grep -qE -- "$1" <<<"${OUT}"; }
file_has() { [[ -f $1 ]] && grep -qF -- "$2" "$1"; }
nonempty() { [[ -s $1 ]]; }

# tool_tree CHAPTERS LEARNER_DIR: configures WORKBOOK_BUILD_DIR (relative to
# ROOT) with only CHAPTERS (e.g. "01;07"), without the galleries and without
# the foundation's own tests (WORKBOOK_FOUNDATION=OFF: a small tree that
# builds in a minute or two), unless it is configured so already; ./workbook
# keeps these settings when it configures again.
tool_tree() {
  local chapters=$1 learner=$2 cache="${ROOT}/${WORKBOOK_BUILD_DIR}/CMakeCache.txt"
  if ! grep -qsxF "WORKBOOK_ONLY_CHAPTERS:STRING=${chapters}" "${cache}" ||
    ! grep -qsxF 'WORKBOOK_FOUNDATION:BOOL=OFF' "${cache}" ||
    ! grep -qsxF 'WORKBOOK_GALLERY:BOOL=OFF' "${cache}"; then
    (cd "${ROOT}" && cmake --preset default -B "${WORKBOOK_BUILD_DIR}" \
      "-DWORKBOOK_ONLY_CHAPTERS=${chapters}" -DWORKBOOK_FOUNDATION=OFF -DWORKBOOK_GALLERY=OFF \
      "-DWORKBOOK_LEARNER_DIR=${learner}" >/dev/null)
  fi
}

# The last line: "N passed, N failed"; the exit status says whether all passed.
finish() {
  printf '%d passed, %d failed\n' "${PASSED}" "${FAILED}"
  [[ ${FAILED} -eq 0 ]]
}
