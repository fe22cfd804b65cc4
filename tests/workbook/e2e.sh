#!/usr/bin/env bash
# End-to-end tests of ./workbook, the learner's side: start a chapter, check
# it (fails with the catalog's signature), hints, watch, the fix copied in,
# check (passes, progress recorded), edit, reset, solution, report, bench,
# doctor and wrong usage; then what must not lose or misreport a learner's
# work: a save during a check, a deleted file, a damaged progress.tsv, a
# read-only learner folder, two commands at once, and the flakiness meter
# facing a crash and a hang.
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

# shellcheck source=tests/workbook/lib.sh
source "${ROOT}/tests/workbook/lib.sh"

# The hints_shown field of chapter 01 in progress.tsv.
hints_recorded() { awk -F '\t' '$1 == "01" { print $4 }' "${WORKBOOK_LEARNER_DIR}/progress.tsv"; }
# Sets chapter 01's hints_shown in progress.tsv.
set_hints() {
  local file="${WORKBOOK_LEARNER_DIR}/progress.tsv"
  awk -F '\t' -v OFS='\t' -v n="$1" '$1 == "01" { $4 = n } { print }' "${file}" >"${file}.new"
  mv "${file}.new" "${file}"
}

# Only chapter 01 in this build tree, without the foundation's own tests
# (WORKBOOK_FOUNDATION=OFF): configure it so once; ./workbook keeps the
# settings when it configures again.
tool_tree "01" "${WORKBOOK_LEARNER_DIR}"

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
expect "check 01 (pitfall): the headline names the pitfall and counts the failing tests" \
  eval 'grep -qE "^FAILED: the pitfall is still there: [0-9]+ of [0-9]+ tests fail against your copy" <<<"${OUT}"'
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

# --- a save during a check ------------------------------------------------------
# The fix is checked, held at start-up until the broken code is saved over it
# (a static initializer waits for a file, so the save lands during the check
# on every run). The pass must not be recorded for the broken code: the check
# checks the saved version again (and fails), and list does not say fixed.
HOLD="${SCRATCH}/hold"
mkdir -p "${HOLD}"
{
  cat "${ROOT}/solutions/${CHAPTER}/${FILE}"
  cat <<'CPP'
// The end-to-end test's hold: with WORKBOOK_E2E_HOLD set, the test program
// says it started, then waits (at most 60 s) until the test script says go.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
namespace {
[[maybe_unused]] const bool e2e_held = [] {
  const char* dir = std::getenv("WORKBOOK_E2E_HOLD");
  if (dir == nullptr) return false;
  std::ofstream(std::string(dir) + "/started") << "started\n";
  for (int i = 0; i < 1200 && !std::filesystem::exists(std::string(dir) + "/go"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}();
}  // namespace
CPP
} >"${COPY}"
wb check 01 # builds the held fix (not held: WORKBOOK_E2E_HOLD is not set)
expect "the held fix passes" eval 'rc_is 0 && out_has "is fixed"'
WORKBOOK_E2E_HOLD="${HOLD}" "${WORKBOOK}" check 01 </dev/null >"${SCRATCH}/during.log" 2>&1 &
CHECK_PID=$!
for _ in $(seq 1 1200); do
  [[ -f "${HOLD}/started" ]] && break
  sleep 0.05
done
cp "${ROOT}/chapters/${CHAPTER}/${FILE}" "${COPY}"
touch "${HOLD}/go"
RC=0
wait "${CHECK_PID}" || RC=$?
OUT=$(cat "${SCRATCH}/during.log")
expect "a save during check: the saved version is checked again, and fails" \
  eval 'rc_is 1 && out_has "changed during the check" && out_has "${SIGNATURE}"'
wb list
expect "a save during check: list does not call the broken code fixed" \
  eval 'out_has "pitfall still present" && out_has "0 of 1 chapters fixed"'
cp "${ROOT}/solutions/${CHAPTER}/${FILE}" "${COPY}"

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
expect "reset --yes: the learner's version is kept in the trash, and it says where" \
  eval 'out_has ".trash/" && grep -lqF "changed after it passed" "${WORKBOOK_LEARNER_DIR}"/.trash/*/"${CHAPTER}/${FILE}"'
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

# --- a deleted file: every command still works and says how to repair ---------
cp "${ROOT}/solutions/${CHAPTER}/${FILE}" "${COPY}"
cp "${COPY}" "${SCRATCH}/kept.cpp"
rm "${COPY}"
wb list
expect "deleted file: list works and names the missing file and the repair" \
  eval 'rc_is 0 && out_has "has no ${FILE}" && out_has "./workbook reset 01"'
wb check 01
expect "deleted file: check fails with the repair, not a CMake error" \
  eval 'rc_is 1 && out_has "has no ${FILE}" && out_has "reset 01" && ! out_has "CMake Error"'
wb hint 01
expect "deleted file: hint still works" eval 'rc_is 0 && out_has " of 4 · chapter 01"'
wb solution 01 --force
expect "deleted file: solution still works" eval 'rc_is 0 && out_has "+++ solutions/"'
wb reset 01 --yes
expect "deleted file: reset brings it back" \
  eval 'rc_is 0 && out_has "restored what was missing" && cmp -s "${COPY}" "${ROOT}/chapters/${CHAPTER}/${FILE}"'
wb list
expect "deleted file, after reset: list is clean" eval 'rc_is 0 && out_has "pitfall still present" && ! out_has "has no"'

# --- a damaged progress.tsv -----------------------------------------------------
PROGRESS="${WORKBOOK_LEARNER_DIR}/progress.tsv"
cp "${PROGRESS}" "${SCRATCH}/progress.good"
printf 'complete garbage\n01\t2024-01-01T00:00:00Z\t-\tlots\t-\n\x01\x02\n' >"${PROGRESS}"
wb list
expect "damaged progress.tsv: each bad line is named, with what was wrong" \
  eval 'rc_is 0 && out_has "line 1:" && out_has "two-digit chapter number" && out_has "line 2:" &&
        out_has "hints_shown" && out_has "line 3:"'
expect "damaged progress.tsv: the list has its one chapter, no garbage line as a chapter" \
  eval 'out_has "of 1 chapters fixed" && out_has "  01  Blocking" && ! grep -q "^  *complete garbage" <<<"${OUT}"'
expect "damaged progress.tsv: repaired, the original kept in the trash" \
  eval '! grep -q garbage "${PROGRESS}" && grep -qP "^01\t2024-01-01T00:00:00Z\t-\t0\t-$" "${PROGRESS}" &&
        grep -lq "complete garbage" "${WORKBOOK_LEARNER_DIR}"/.trash/*/progress.tsv'
wb list
expect "damaged progress.tsv: the warning is not repeated once repaired" eval 'rc_is 0 && ! out_has "damaged"'
printf '01\t2024-01-01T00:00:00Z\t2024-13-45\t"\\<x>&\t-\n' >"${PROGRESS}"
wb report --json "${SCRATCH}/damaged.json" --junit "${SCRATCH}/damaged.xml"
if command -v python3 >/dev/null 2>&1; then
  expect "damaged progress.tsv: report --json and --junit still parse" python3 -c '
import json, sys, xml.dom.minidom
json.load(open(sys.argv[1] + "/damaged.json"))
xml.dom.minidom.parse(sys.argv[1] + "/damaged.xml")' "${SCRATCH}"
fi
cp "${SCRATCH}/progress.good" "${PROGRESS}"

# --- two commands at once -------------------------------------------------------
set_hints 0
for i in 1 2 3 4; do
  "${WORKBOOK}" hint 01 </dev/null >"${SCRATCH}/hint-${i}.log" 2>&1 &
done
wait
OUT=$(cat "${SCRATCH}"/hint-*.log) RC=0
expect "4 hints at once: 4 counted, each hint shown once" \
  eval '[[ $(hints_recorded) == 4 ]] && [[ $(grep -c "^hint [1-4] of 4" <<<"${OUT}") == 4 ]] &&
        [[ $(grep "^hint [1-4] of 4" <<<"${OUT}" | sort -u | wc -l) == 4 ]]'
set_hints 2

cp "${ROOT}/solutions/${CHAPTER}/${FILE}" "${COPY}"
for round in 1 2; do
  "${WORKBOOK}" check 01 </dev/null >"${SCRATCH}/twin-a.log" 2>&1 &
  A=$!
  "${WORKBOOK}" check 01 </dev/null >"${SCRATCH}/twin-b.log" 2>&1 &
  B=$!
  RA=0 RB=0
  wait "${A}" || RA=$?
  wait "${B}" || RB=$?
  OUT=$(cat "${SCRATCH}/twin-a.log" "${SCRATCH}/twin-b.log") RC=$((RA + RB))
  expect "two checks of a fixed copy at once (round ${round}): both pass" \
    eval 'rc_is 0 && [[ $(grep -c "is fixed" <<<"${OUT}") == 2 ]] && ! out_has "Text file busy"'
done

# --- a read-only learner folder ---------------------------------------------------
# As root, permissions do not stop a write: the folder is bind-mounted
# read-only in a private mount namespace (unshare), seen by that command only.
ro_wb() {
  RC=0
  OUT=$(unshare -m bash -c 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" && shift &&
    exec "$@"' ro "${WORKBOOK_LEARNER_DIR}" "${WORKBOOK}" "$@" </dev/null 2>&1) || RC=$?
}
if unshare -m bash -c 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" && ! touch "$1/.probe"' \
  ro "${WORKBOOK_LEARNER_DIR}" 2>/dev/null; then
  cp "${PROGRESS}" "${SCRATCH}/progress.before-ro"
  ro_wb hint 01
  expect "read-only: hint says the count failed, in one sentence, exit 1" \
    eval 'rc_is 1 && out_has "not counted" && out_has "Read-only file system" && ! out_has "line "'
  ro_wb check 01
  expect "read-only: a passing check says it is NOT recorded, exit 1" \
    eval 'rc_is 1 && out_has "is fixed" && out_has "NOT recorded" && ! out_has "recorded in"'
  expect "read-only: progress.tsv untouched" cmp -s "${PROGRESS}" "${SCRATCH}/progress.before-ro"
  ro_wb report --json "${SCRATCH}/ro.json"
  expect "read-only: report completes and writes its JSON" \
    eval 'out_has "1 started, 1 fixed" && out_has "not recorded" && file_has "${SCRATCH}/ro.json" "\"fixed\": 1"'
  ro_wb reset 01 --yes
  expect "read-only: reset changes nothing and says why" \
    eval 'rc_is 1 && out_has "Read-only file system" && cmp -s "${COPY}" "${ROOT}/solutions/${CHAPTER}/${FILE}"'
else
  printf 'skipped read-only learner folder: this machine cannot mount a folder read-only (unshare -m)\n'
fi

# --- the flakiness meter sees crashes and hangs ---------------------------------------
# A build tree of its own, with nothing to build, whose flaky.tsv names a
# stand-in for a GoogleTest program: its 2nd run crashes, its 3rd hangs, its
# 4th fails; the meter says each, with what the test printed.
FAKE="${SCRATCH}/fake-build"
mkdir -p "${FAKE}" "${SCRATCH}/fake-work"
printf '%s\n' "CMAKE_PROJECT_NAME:STATIC=fake" "CMAKE_GENERATOR:INTERNAL=Ninja" \
  "CMAKE_MAKE_PROGRAM:FILEPATH=$(command -v ninja)" "WORKBOOK_LEARNER_DIR:PATH=${SCRATCH}/fake-work" \
  >"${FAKE}/CMakeCache.txt"
printf 'rule nop\n  command = true\nbuild all: phony\ndefault all\n' >"${FAKE}/build.ninja"
cut -f 1-7 "${ROOT}/${WORKBOOK_BUILD_DIR}/chapters.tsv" | sed 's/$/\t0/' >"${FAKE}/chapters.tsv"
cat >"${SCRATCH}/fake-gtest" <<'FAKE_GTEST'
#!/usr/bin/env bash
case " $* " in *" --gtest_list_tests "*) exit 0 ;; esac
# The meter runs several at once: count the runs under a lock.
exec 9>"${0}.lock"
flock 9
run=$(($(cat "${0}.runs" 2>/dev/null || echo 0) + 1))
echo "${run}" >"${0}.runs"
flock -u 9
printf '[ RUN      ] Fake.First\n[       OK ] Fake.First (1 ms)\n[ RUN      ] Fake.Second\n'
if [[ ${run} -eq 2 ]]; then echo "about to crash: the pointer was null"; kill -SEGV $$; fi
if [[ ${run} -eq 3 ]]; then exec sleep 60; fi
if [[ ${run} -eq 4 ]]; then
  printf 'fake.cpp:9: Failure\nthe answer was 41\n[  FAILED  ] Fake.Second (1 ms)\n'
  exit 1
fi
printf '[       OK ] Fake.Second (1 ms)\n[==========] 2 tests from 1 test suite ran. (2 ms total)\n'
FAKE_GTEST
chmod +x "${SCRATCH}/fake-gtest"
printf 'gtest\tfake\t%s\t\n' "${SCRATCH}/fake-gtest" >"${FAKE}/flaky.tsv"
RC=0
OUT=$(WORKBOOK_BUILD_DIR="${FAKE}" WORKBOOK_LEARNER_DIR="${SCRATCH}/fake-work" WORKBOOK_FLAKY_TIMEOUT=2 \
  "${WORKBOOK}" flaky --repeat 5 </dev/null 2>&1) || RC=$?
expect "flaky: a crash, a hang and a failure are named with their cause and output; every run happens" \
  eval 'rc_is 1 && out_has "crashed (SIGSEGV)" && out_has "the pointer was null" &&
        out_has "did not finish within 2 s" && grep -qE "run [1-5] of 5 failed; to repeat it" <<<"${OUT}" &&
        out_has "the answer was 41" && grep -qE "^fake:Fake.Second +5 +2  flaky" <<<"${OUT}" &&
        [[ $(cat "${SCRATCH}/fake-gtest.runs") == 5 ]]'

printf '%d passed, %d failed\n' "${PASSED}" "${FAILED}"
[[ ${FAILED} -eq 0 ]]
