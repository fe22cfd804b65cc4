#!/usr/bin/env bash
# End-to-end tests of ./workbook, the learner's side: start a chapter, check
# it (fails with the catalog's signature), hints, watch, the fix copied in,
# check (passes, progress recorded), edit, reset, solution, report, bench,
# doctor and wrong usage.
#
# It works in a temporary learner directory (WORKBOOK_LEARNER_DIR) and its own
# build tree (WORKBOOK_BUILD_DIR, default build/e2e) with chapter 01 only, so
# the learner's real work and the main build tree are left alone. The first
# run builds chapter 01 (about a minute); later runs are incremental.
#
# Run it with ctest (label "tool") or directly: bash tests/workbook/e2e.sh
# Its last line reads "N passed, N failed"; it exits non-zero if any failed.
#
# Conditions are written in single quotes and evaluated by `expect`, so they
# read like the commands a person would type.
# shellcheck disable=SC2016
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
readonly ROOT
readonly WORKBOOK="${ROOT}/workbook"
readonly CHAPTER="01-blocking-in-coroutines"
readonly FILE="fingerprint_service.cpp"
readonly SIGNATURE="event loop stalled for"

SCRATCH=$(mktemp -d)
readonly SCRATCH
export WORKBOOK_LEARNER_DIR="${SCRATCH}/my-work"
export WORKBOOK_BUILD_DIR="${WORKBOOK_E2E_BUILD_DIR:-build/e2e}"
export NO_COLOR=1
readonly COPY="${WORKBOOK_LEARNER_DIR}/${CHAPTER}/${FILE}"

WATCH_PID=""
cleanup() {
  if [[ -n ${WATCH_PID} ]]; then kill "${WATCH_PID}" 2>/dev/null || true; fi
  rm -rf -- "${SCRATCH}"
}
trap cleanup EXIT

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

fail() {
  FAILED=$((FAILED + 1))
  printf 'FAILED  %s\n' "$1"
  if [[ -n ${2:-} ]]; then printf '%s\n' "$2" | sed 's/^/        | /' | head -n 40; fi
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
file_has() { [[ -f $1 ]] && grep -qF -- "$2" "$1"; }
nonempty() { [[ -s $1 ]]; }

# Only chapter 01 in this build tree: configure it so once; ./workbook keeps
# the setting when it configures again.
if ! grep -qs '^WORKBOOK_ONLY_CHAPTERS:STRING=01$' "${ROOT}/${WORKBOOK_BUILD_DIR}/CMakeCache.txt"; then
  (cd "${ROOT}" && cmake --preset default -B "${WORKBOOK_BUILD_DIR}" -DWORKBOOK_ONLY_CHAPTERS=01 \
    -DWORKBOOK_LEARNER_DIR="${WORKBOOK_LEARNER_DIR}" >/dev/null)
fi

# --- list, start ------------------------------------------------------------
wb list
expect "list: chapter 01 not started" eval 'rc_is 0 && out_has "Blocking in coroutines" && out_has "not started"'
wb
expect "no arguments: the list" eval 'rc_is 0 && out_has "0 of 1 chapters fixed"'

wb start 01
expect "start 01: copies the broken file" cmp -s "${COPY}" "${ROOT}/chapters/${CHAPTER}/${FILE}"
expect "start 01: names the file to edit and the lesson" \
  eval 'rc_is 0 && out_has "${CHAPTER}/${FILE}" && out_has "chapters/${CHAPTER}/README.md"'
expect "start 01: progress file made" file_has "${WORKBOOK_LEARNER_DIR}/progress.tsv" "01"

printf '// my own note\n' >>"${COPY}"
wb start 01
expect "start 01 again: keeps the learner's copy" \
  eval 'rc_is 0 && out_has "already started" && grep -qF "my own note" "${COPY}"'

# --- check fails, hints -----------------------------------------------------
wb check 01
expect "check 01 (pitfall): exit 1" rc_is 1
expect "check 01 (pitfall): the failure signature" out_has "${SIGNATURE}"
expect "check 01 (pitfall): the next hint" out_has "hint: ./workbook hint 01 (1 of 4)"

HINT1=$(sed -n 1p "${ROOT}/${WORKBOOK_BUILD_DIR}/catalog/01.hints")
HINT2=$(sed -n 2p "${ROOT}/${WORKBOOK_BUILD_DIR}/catalog/01.hints")
export HINT1 HINT2 # read by the conditions
wb hint 01
expect "hint 01: hint 1 of 4" eval 'rc_is 0 && out_has "hint 1 of 4" && out_has "${HINT1:0:40}"'
wb hint 01
expect "hint 01 again: hint 2 of 4" eval 'rc_is 0 && out_has "hint 2 of 4" && out_has "${HINT2:0:40}"'
wb check 01
expect "check 01: offers hint 3 next" out_has "(3 of 4)"

wb solution 01
expect "solution 01 before a pass: refused" eval 'rc_is 1 && out_has "--force"'
wb solution 01 --force
expect "solution 01 --force: the diff" eval 'rc_is 0 && out_has "+++ solutions/${CHAPTER}/${FILE}"'

wb report --junit "${SCRATCH}/failing.xml" --json "${SCRATCH}/failing.json"
expect "report (pitfall): exit 1" rc_is 1
expect "report --junit (pitfall): a failing test case with the signature" \
  eval 'file_has "${SCRATCH}/failing.xml" "<failure" && file_has "${SCRATCH}/failing.xml" "${SIGNATURE}" &&
        file_has "${SCRATCH}/failing.xml" "failures=\"1\""'
expect "report --json (pitfall): status and failure" \
  eval 'file_has "${SCRATCH}/failing.json" "\"status\": \"pitfall still present\"" &&
        file_has "${SCRATCH}/failing.json" "\"passed\": false"'

# --- watch: the fix copied in is checked on its own ---------------------------
"${WORKBOOK}" watch 01 --poll </dev/null >"${SCRATCH}/watch.log" 2>&1 &
WATCH_PID=$!
for _ in $(seq 1 120); do
  grep -qF "watching" "${SCRATCH}/watch.log" && break
  sleep 0.5
done
cp "${ROOT}/solutions/${CHAPTER}/${FILE}" "${COPY}"
for _ in $(seq 1 240); do
  grep -qF "is fixed" "${SCRATCH}/watch.log" && break
  sleep 0.5
done
kill -TERM "${WATCH_PID}" 2>/dev/null || true
wait "${WATCH_PID}" 2>/dev/null || true
WATCH_PID=""
OUT=$(cat "${SCRATCH}/watch.log") RC=0
expect "watch 01 --poll: checks, then checks again after a save" \
  eval 'out_has "${SIGNATURE}" && out_has "is fixed"'

# --- check passes -------------------------------------------------------------
wb check 01
expect "check 01 (fixed): exit 0" eval 'rc_is 0 && out_has "is fixed"'
expect "check 01 (fixed): progress recorded" \
  eval 'grep -qE "^01	[^	]+	[0-9T:-]+Z	2	[0-9a-f]+$" "${WORKBOOK_LEARNER_DIR}/progress.tsv"'
wb list
expect "list: chapter 01 fixed" eval 'rc_is 0 && out_has "fixed" && out_has "1 of 1 chapters fixed"'
wb solution 01
expect "solution 01 after a pass: the diff" eval 'rc_is 0 && out_has "--- chapters/${CHAPTER}/${FILE}"'

wb report --junit "${SCRATCH}/report.xml" --json "${SCRATCH}/report.json"
expect "report (fixed): exit 0" eval 'rc_is 0 && out_has "1 started, 1 fixed"'
expect "report --junit (fixed): one passing test case" \
  eval 'file_has "${SCRATCH}/report.xml" "<?xml version=\"1.0\"" &&
        file_has "${SCRATCH}/report.xml" "tests=\"1\" failures=\"0\"" &&
        file_has "${SCRATCH}/report.xml" "name=\"${CHAPTER}\"" &&
        ! file_has "${SCRATCH}/report.xml" "<failure"'
expect "report --json (fixed): the chapter and its status" \
  eval 'file_has "${SCRATCH}/report.json" "\"id\": \"01\"" &&
        file_has "${SCRATCH}/report.json" "\"status\": \"fixed\"" &&
        file_has "${SCRATCH}/report.json" "\"fixed\": 1"'
if command -v python3 >/dev/null 2>&1; then
  expect "report: the JSON and the XML parse" python3 -c '
import json, sys, xml.dom.minidom
for name in ("failing", "report"):
    json.load(open(sys.argv[1] + "/" + name + ".json"))
    xml.dom.minidom.parse(sys.argv[1] + "/" + name + ".xml")' "${SCRATCH}"
fi

# --- an edit after the pass, reset ---------------------------------------------
printf '// changed after it passed\n' >>"${COPY}"
wb list
expect "list after an edit: not fixed any more" \
  eval 'out_has "changed since it passed" && out_has "0 of 1 chapters fixed"'

wb reset 01
expect "reset without --yes and without a terminal: refused" eval 'rc_is 2 && out_has "--yes"'
expect "reset refused: the copy is untouched" grep -qF "changed after it passed" "${COPY}"
wb reset 01 --yes
expect "reset --yes: the broken original is back" \
  eval 'rc_is 0 && cmp -s "${COPY}" "${ROOT}/chapters/${CHAPTER}/${FILE}"'
wb list
expect "list after reset: pitfall still present" eval 'out_has "pitfall still present"'

# --- wrong usage ----------------------------------------------------------------
wb frobnicate
expect "unknown command: exit 2 with a message" eval 'rc_is 2 && out_has "unknown command"'
wb check 99
expect "unknown chapter: exit 2 with a message" eval 'rc_is 2 && out_has "unknown chapter"'
wb check 01 --bogus
expect "unknown flag: exit 2 with a message" eval 'rc_is 2 && out_has "unknown option"'
wb check
expect "missing chapter: exit 2" eval 'rc_is 2 && out_has "needs a chapter"'
wb report --junit
expect "report --junit without a file: exit 2" rc_is 2
wb bench --help
expect "--help for a command" eval 'rc_is 0 && out_has "usage: ./workbook bench"'

# --- bench, doctor ------------------------------------------------------------------
wb bench 01 --quick
BENCH="${ROOT}/${WORKBOOK_BUILD_DIR}/bench"
expect "bench 01 --quick: the table" \
  eval 'rc_is 0 && out_has "benchmark" && out_has "pitfall" && out_has "fix" &&
        out_has "concurrent/8" && out_has "stall_ms"'
expect "bench 01 --quick: Google Benchmark's JSON kept" \
  eval 'file_has "${BENCH}/01-pitfall.json" "\"benchmarks\"" && file_has "${BENCH}/01-fix.json" "\"benchmarks\""'
expect "bench 01 --quick: PNG plot" eval '[[ $(head -c 4 "${BENCH}/01.png" | tail -c 3) == PNG ]]'
expect "bench 01 --quick: SVG plot" file_has "${BENCH}/01.svg" "<svg"

wb doctor
expect "doctor: versions, exit 0 (or 3 if something is missing)" \
  eval '(rc_is 0 || rc_is 3) && out_has "CMake" && out_has "Boost" && out_has "Google Benchmark"'

printf '%d passed, %d failed\n' "${PASSED}" "${FAILED}"
[[ ${FAILED} -eq 0 ]]
