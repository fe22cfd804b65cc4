#!/usr/bin/env bash
# End-to-end tests of what ./workbook check, hint and tour tell a learner:
# the headline says what happened to the learner's copy (did not compile,
# crashed, hung, the pitfall, another failure) and where, in the learner's
# file; the chapter's tests are listed as passed or failed; a hint keyed to a
# test or a signature follows what the last check found failing; the tour
# builds quietly, and only the chapter it shows.
#
# It works in a temporary learner directory and its own build tree
# (WORKBOOK_BUILD_DIR, default build/e2e-check-messages) with chapters 01 and
# 07 only and no wrong-fix gallery. The first run builds them (a few minutes
# on 2 cores); later runs are incremental. It needs gdb (./workbook installs
# it) for the lines of a crash and of a hang.
#
# Run it with ctest (label "tool") or directly: bash tests/workbook/check_messages.sh
# Its last line reads "N passed, N failed"; it exits non-zero if any failed.
#
# Conditions are written in single quotes and evaluated by `expect`, so they
# read like the commands a person would type.
# shellcheck disable=SC2016
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
readonly ROOT
readonly WORKBOOK="${ROOT}/workbook"

SCRATCH=$(mktemp -d)
readonly SCRATCH
export WORKBOOK_LEARNER_DIR="${SCRATCH}/my-work"
export WORKBOOK_BUILD_DIR="${WORKBOOK_CHECK_MESSAGES_BUILD_DIR:-build/e2e-check-messages}"
export NO_COLOR=1
readonly COPY01="${WORKBOOK_LEARNER_DIR}/01-blocking-in-coroutines/fingerprint_service.cpp"
readonly COPY07="${WORKBOOK_LEARNER_DIR}/07-lock-across-await/connection_pool.cpp"
export COPY01 COPY07

cleanup() { rm -rf -- "${SCRATCH}"; }
trap cleanup EXIT

# shellcheck source=tests/workbook/lib.sh
source "${ROOT}/tests/workbook/lib.sh"

# The hints_shown field of chapter ID in progress.tsv.
hints_recorded() { awk -F '\t' -v id="$1" '$1 == id { print $4 }' "${WORKBOOK_LEARNER_DIR}/progress.tsv"; }
# The number of the first line of FILE that holds TEXT.
line_of() { grep -nF -- "$2" "$1" | head -n 1 | cut -d: -f1; }

# copy_with ORIGINAL COPY AFTER INSERTED: the original with the lines
# INSERTED after its first line that holds AFTER.
copy_with() {
  awk -v after="$3" -v inserted="$4" '{ print } !done && index($0, after) { print inserted; done = 1 }' \
    "$1" >"$2"
}

# Chapters 01 and 07 only, no gallery: configured so once; ./workbook keeps
# the settings when it configures again.
tool_tree "01;07" "${WORKBOOK_LEARNER_DIR}"

wb start 01
expect "start 01" rc_is 0
wb start 07
expect "start 07" rc_is 0
readonly ORIGINAL01="${ROOT}/chapters/01-blocking-in-coroutines/fingerprint_service.cpp"
readonly ORIGINAL07="${ROOT}/chapters/07-lock-across-await/connection_pool.cpp"
readonly AFTER_READ='co_await services.db.read("notes", note_id);'

# --- the pitfall, with the list of tests ----------------------------------------
wb check 01
expect "pitfall: the headline names the pitfall" \
  eval 'rc_is 1 && out_matches "^FAILED: the pitfall is still there: 3 of 5 tests fail against your copy"'
expect "pitfall: each test listed as passed or failed" \
  eval 'out_has "2 of 5 tests pass:" &&
        out_matches "^    ok +BlockingInCoroutines\.EveryRequestGetsItsOwnFilesFingerprint$" &&
        out_matches "^    FAILED +BlockingInCoroutines\.NoHandlerHoldsTheEventLoop$" &&
        out_matches "^    ok +BlockingInCoroutines\.MissingNoteIsReported$"'
expect "pitfall: no \"Running main() from gtest_main.cc\"" eval '! out_has "Running main()"'

# --- did not compile ------------------------------------------------------------
cp "${ORIGINAL01}" "${COPY01}"
printf 'namespace ch01 {\nint broken() { return nowhere_declared; }\n}  // namespace ch01\n' >>"${COPY01}"
LINE=$(line_of "${COPY01}" "nowhere_declared")
export LINE
wb check 01
expect "compile error: headline \"did not compile\"" eval 'rc_is 1 && out_matches "^FAILED: your copy did not compile"'
expect "compile error: the first error, at the learner's file and line" \
  eval 'out_has "the first error, at ${COPY01}:${LINE}:" && out_has "nowhere_declared"'
expect "compile error: not called the pitfall" eval '! out_has "pitfall is still there"'

# --- a crash ----------------------------------------------------------------------
copy_with "${ORIGINAL01}" "${COPY01}" "${AFTER_READ}" '  int* volatile nowhere = nullptr;
  *nowhere = 1;  // the crash'
LINE=$(line_of "${COPY01}" "the crash")
wb check 01
expect "crash: headline \"crashed\", with the signal" eval 'rc_is 1 && out_matches "^FAILED: your copy crashed: SIGSEGV in "'
expect "crash: names the line of the learner's file, and shows it" \
  eval 'out_has "${COPY01}:${LINE}" && out_has "*nowhere = 1;"'
expect "crash: the test that crashed, and those that did not run" \
  eval 'out_matches "^    CRASHED +BlockingInCoroutines\." && out_matches "^    not run +BlockingInCoroutines\."'
expect "crash: not called the pitfall" eval '! out_has "pitfall is still there"'

# --- a hang: over the timeout -----------------------------------------------------
copy_with "${ORIGINAL01}" "${COPY01}" "${AFTER_READ}" '  for (volatile bool spinning = true; spinning;) {  // the endless loop
  }'
LINE=$(line_of "${COPY01}" "the endless loop")
RC=0
OUT=$(WORKBOOK_CHECK_TIMEOUT=3 "${WORKBOOK}" check 01 </dev/null 2>&1) || RC=$?
expect "endless loop: headline \"hung\", with the timeout" \
  eval 'rc_is 1 && out_matches "^FAILED: your copy hung: .* did not finish within 3 s"'
expect "endless loop: may be a deadlock, or a loop" eval 'out_has "deadlock" && out_has "loops forever"'
expect "endless loop: where it was, in the learner's file" eval 'out_has "${COPY01}:${LINE}"'
expect "endless loop: not called the pitfall" eval '! out_has "pitfall is still there"'

# --- a hang that the test's watchdog ends ---------------------------------------
# Chapter 07's test has a watchdog, whose report is also the pitfall's
# signature: a thread that keeps running is told apart from the deadlock.
copy_with "${ORIGINAL07}" "${COPY07}" "std::unique_lock lock(state_->mutex);" \
  '  for (volatile bool spinning = true; spinning;) {  // the endless loop
  }'
LINE=$(line_of "${COPY07}" "the endless loop")
wb check 07
expect "endless loop, watchdog: headline \"hung\", a thread kept running" \
  eval 'rc_is 1 && out_matches "^FAILED: your copy hung: the test.s watchdog stopped .*running all the time"'
expect "endless loop, watchdog: not called the pitfall" eval '! out_has "pitfall is still there"'
expect "endless loop, watchdog: where it was, in the learner's file" eval 'out_has "${COPY07}:${LINE}"'

# --- hints follow what still fails ----------------------------------------------
cp "${ORIGINAL07}" "${COPY07}"
wb check 07
expect "07 pitfall: the deadlock is the pitfall" \
  eval 'rc_is 1 && out_matches "^FAILED: the pitfall is still there" && out_matches "^    HUNG +LockAcrossAwait\."'
expect "07 pitfall: the next hint is hint 1, about the deadlock" out_has "hint: ./workbook hint 07 (1 of 4, about: deadlock"
wb hint 07
expect "07 hint: hint 1 (the mutex)" eval 'rc_is 0 && out_has "hint 1 of 4" && out_has "std::mutex"'
# Part of the fix: the mutex is no longer held across connect, but nothing
# bounds the connections yet.
cp "${ROOT}/tests/07-lock-across-await/wrong-fixes/unlock-around-connect-stale-check.cpp" "${COPY07}"
wb check 07
expect "07 half fixed: another failure, not the pitfall's" \
  eval 'rc_is 1 && out_matches "^FAILED: [0-9]+ of [0-9]+ tests fail against your copy, but not with the pitfall"'
expect "07 half fixed: the next hint skips the mutex" out_has "hint: ./workbook hint 07 (3 of 4"
wb hint 07
expect "07 hint after part of the fix: hint 3 (counting slots), not hint 2 (the mutex again)" \
  eval 'rc_is 0 && out_has "hint 3 of 4" && out_has "AsyncSemaphore"'
expect "07 hints counted: 2 shown" eval '[[ $(hints_recorded 07) == 2 ]]'
wb hint 07
expect "07 next hint: hint 4" eval 'rc_is 0 && out_has "hint 4 of 4"'

# --- the tour: quiet, and only the chapter it shows -----------------------------
rm -f -- "${ROOT}/${WORKBOOK_BUILD_DIR}/ch07_demo_pitfall" "${ROOT}/${WORKBOOK_BUILD_DIR}/ch07_demo_fix"
wb tour 01
expect "tour 01: runs the demos" eval 'rc_is 0 && out_has "the pitfall:" && out_has "the fix:"'
expect "tour 01: no raw build lines" eval '! out_matches "^\[[0-9]+/[0-9]+\] |Building CXX|Linking CXX"'
expect "tour 01: builds only chapter 01's demos" \
  eval '[[ ! -e ${ROOT}/${WORKBOOK_BUILD_DIR}/ch07_demo_pitfall && ! -e ${ROOT}/${WORKBOOK_BUILD_DIR}/ch07_demo_fix ]]'

finish
