# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------

# Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org).
if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
  BOLD=$'\e[1m' DIM=$'\e[2m' GREEN=$'\e[32m' RED=$'\e[31m' RESET=$'\e[0m'
else
  BOLD="" DIM="" GREEN="" RED="" RESET=""
  # ctest colours its results on a terminal unless told not to.
  if [[ -n "${NO_COLOR:-}" ]]; then export CLICOLOR=0; fi
fi

heading() { printf '%s%s%s\n' "${BOLD}" "$*" "${RESET}"; }
note() { printf '%s\n' "$*"; }
# Messages about a failure go to stderr, prefixed so they stand out in a log.
error() { printf 'workbook: %s\n' "$*" >&2; }
# die CODE MESSAGE...: print the message and exit with CODE.
die() {
  local code=$1
  shift
  error "$@"
  exit "${code}"
}

# The word "ok" or "FAILED", coloured, padded to `width` visible characters.
verdict() {
  local status=$1 width=${2:-0}
  if [[ ${status} -eq 0 ]]; then
    printf '%s%-*s%s' "${GREEN}" "${width}" "ok" "${RESET}"
  else
    printf '%s%-*s%s' "${RED}" "${width}" "FAILED" "${RESET}"
  fi
}

# Current time in microseconds, for timing stages.
now_us() {
  if [[ -n "${EPOCHREALTIME:-}" ]]; then
    echo "${EPOCHREALTIME//[!0-9]/}" # bash 5: seconds.micros, the dot may be a comma
  else
    echo "$(($(date +%s) * 1000000))"
  fi
}

# Microseconds as seconds with one decimal: 1234567 -> 1.2
format_seconds() {
  local tenths=$((($1 + 50000) / 100000))
  printf '%d.%d' $((tenths / 10)) $((tenths % 10))
}

# ---------------------------------------------------------------------------
# Locks and writes that can fail
# ---------------------------------------------------------------------------
#
# Two ./workbook commands may run at once (a watch in one terminal, a check or
# a hint in another). flock(1) serialises what they share:
#   the build tree     one configure or build at a time (Ninja keeps its own
#                      state in the tree and does not lock it)
#   a chapter's check  from building chNN_test_learner to the end of its run:
#                      relinking a test binary while another command runs it
#                      fails with "Text file busy"
#   progress.tsv       read, changed and written back as one step, so that
#                      two hints count twice
# A lock is an open file descriptor; it is released when the descriptor is
# closed or the command exits, however it exits.

# take_lock PATH WAITING_MESSAGE: locks PATH (a directory, or a file created if
# needed), saying WAITING_MESSAGE first if another command holds it. Sets
# LOCK_FD to the descriptor to pass to release_lock; empty if nothing could be
# locked (no flock on this system, or PATH cannot be opened: then the command
# goes on unlocked, as it did before locks existed).
LOCK_FD=""
take_lock() {
  local path=$1 message=$2 fd
  LOCK_FD=""
  command -v flock >/dev/null 2>&1 || return 0
  if [[ -d ${path} ]]; then
    { exec {fd}<"${path}"; } 2>/dev/null || return 0
  else
    { exec {fd}>>"${path}"; } 2>/dev/null || return 0
  fi
  if ! flock -n "${fd}"; then
    note "${message}"
    flock "${fd}"
  fi
  LOCK_FD=${fd}
}

release_lock() { # FD
  local fd=$1
  if [[ -n ${fd} ]]; then exec {fd}>&-; fi
}

# The build tree's lock: held while CMake configures it or Ninja builds in it.
lock_build_tree() {
  mkdir -p -- "${BUILD_DIR}" 2>/dev/null || true
  take_lock "${BUILD_DIR}" \
    "another ./workbook command is building in ${BUILD_DIR}; waiting for it to finish..."
}

# The last part of a failed command's message: "cp: cannot create regular file
# 'x': Permission denied" -> "Permission denied".
failure_reason() { # MESSAGE
  local reason=${1##*: }
  reason=${reason%%$'\n'*}
  printf '%s' "${reason:-unknown error}"
}

# What to do about a learner folder that cannot be written, in one sentence.
readonly WRITE_ADVICE="make the folder writable (or set WORKBOOK_LEARNER_DIR to a folder you can write) and run the command again"
