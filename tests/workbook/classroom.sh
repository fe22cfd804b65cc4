#!/usr/bin/env bash
# End-to-end tests of ./workbook's classroom side, tried as an instructor
# would: grading (report, report --grade) of simulated learners (an empty
# folder, a partial one, one with every chapter fixed, a read-only one, copies
# that hang, crash or do not compile), what grading must not change, the
# honesty signals (solution --force, a copy of the reference solution, hint
# counts edited by hand), class-report over a folder of reports with broken
# ones among them, and the GitHub Classroom autograding file: checked against
# the catalog, and run the way GitHub Classroom runs it.
#
# It works in temporary learner directories and its own build tree
# (WORKBOOK_BUILD_DIR, default build/e2e-class) holding chapters 00 and 01
# only. The catalog's other chapters are not built there: report --grade
# lists them as not_built and counts them as not passed; the learner's report
# lists them and leaves them out of its verdict. The first run builds the two
# chapters (about a minute); later runs are incremental.
#
# Run it with ctest (label "tool") or directly: bash tests/workbook/classroom.sh
# Its last line reads "N passed, N failed"; it exits non-zero if any failed.
# Variables read only inside the quoted conditions look unused to shellcheck.
# shellcheck disable=SC2016,SC2034
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
readonly ROOT
readonly WORKBOOK="${ROOT}/workbook"
readonly CH00="00-first-steps" FILE00="note_saver.cpp"
readonly CH01="01-blocking-in-coroutines" FILE01="fingerprint_service.cpp"

SCRATCH=$(mktemp -d)
readonly SCRATCH
export WORKBOOK_BUILD_DIR="${WORKBOOK_CLASSROOM_BUILD_DIR:-build/e2e-class}"
export NO_COLOR=1
unset WORKBOOK_LEARNER_ID GITHUB_ACTIONS GITHUB_ACTOR

cleanup() { rm -rf -- "${SCRATCH}"; }
trap cleanup EXIT

# shellcheck source=tests/workbook/lib.sh
source "${ROOT}/tests/workbook/lib.sh"

# wb LEARNER ARGS...: runs ./workbook for the learner folder SCRATCH/LEARNER
# with no terminal on stdin; its output (stdout and stderr) goes to OUT, its
# exit code to RC.
wb() {
  local learner=$1
  shift
  RC=0
  OUT=$(WORKBOOK_LEARNER_DIR="${SCRATCH}/${learner}" "${WORKBOOK}" "$@" </dev/null 2>&1) || RC=$?
}

# jq-like look-ups without jq: python3 if there is one, else the test is skipped.
HAVE_PY=0
command -v python3 >/dev/null 2>&1 && HAVE_PY=1
# json FILE EXPRESSION: prints EXPRESSION evaluated with d = the parsed file.
json() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# chapter_field FILE ID FIELD: one field of one chapter of a report.
chapter_field() { json "$1" "[c for c in d['chapters'] if c['id'] == '$2'][0]['$3']"; }

# A fingerprint of everything in a learner folder: names, sizes, times, contents.
fingerprint() { # DIR
  [[ -d $1 ]] || {
    echo absent
    return
  }
  (cd "$1" && find . -printf '%p %s %T@ %m\n' | sort && find . -type f -print0 | sort -z | xargs -0r sha256sum) |
    sha256sum
}

# Only chapters 00 and 01 in this build tree: configure it so once.
tool_tree "00;01" "${SCRATCH}/empty"
CATALOG_COUNT=$(grep -c '"seed_section"' "${ROOT}/chapters/catalog.json")
readonly CATALOG_COUNT

# --- GitHub Classroom autograding: the file and the catalog ---------------------------------
wb empty autograding --check
expect "autograding --check: the committed file matches the catalog" rc_is 0
# catalog_copy OUT CMAKE...: a copy of the catalog changed by CMake's string(JSON) (in `json`).
catalog_copy() {
  local out=$1
  shift
  {
    printf 'file(READ "%s" json)\n' "${ROOT}/chapters/catalog.json"
    printf '%s\n' "$@"
    printf 'file(WRITE "%s" "${json}")\n' "${out}"
  } >"${SCRATCH}/edit.cmake"
  cmake -P "${SCRATCH}/edit.cmake"
}
# A chapter added to (a copy of) the catalog: the committed file is stale.
catalog_copy "${SCRATCH}/catalog.json" 'string(JSON n LENGTH "${json}" chapters)' \
  'string(JSON json SET "${json}" chapters ${n} "{\"id\": \"17\", \"slug\": \"new\", \"title\": \"A new chapter\"}")'
wb empty autograding --check --catalog "${SCRATCH}/catalog.json"
expect "autograding --check with a chapter added to the catalog: exit 1, names the chapter" \
  eval 'rc_is 1 && out_has "chapter 17 is in the catalog but has no autograding test"'
# Only chapters 00 and 01, the tree's: run as GitHub Classroom runs it.
catalog_copy "${SCRATCH}/two.json" 'string(JSON n LENGTH "${json}" chapters)' \
  'while(n GREATER 2)' '  string(JSON json REMOVE "${json}" chapters 2)' '  math(EXPR n "${n} - 1")' 'endwhile()'
wb empty autograding --write --catalog "${SCRATCH}/two.json" --file "${SCRATCH}/autograding.json"
expect "autograding --write from a two-chapter catalog: two tests" \
  eval 'rc_is 0 && [[ $(grep -c "\"run\": \"./workbook report --grade --only" "${SCRATCH}/autograding.json") == 2 ]]'
# --- an empty learner folder: nothing started, nothing passes -------------------------
wb empty report --grade --learner empty@example.org --json "${SCRATCH}/empty.json" \
  --junit "${SCRATCH}/empty.xml" --gradescope "${SCRATCH}/empty-gs.json"
expect "empty folder, --grade: exit 1 (not passed)" rc_is 1
expect "empty folder, --grade: the folder is not created" test ! -e "${SCRATCH}/empty"
expect "empty folder, --grade: JUnit lists every catalog chapter, each a failure" \
  file_has "${SCRATCH}/empty.xml" "tests=\"${CATALOG_COUNT}\" failures=\"${CATALOG_COUNT}\""
expect "empty folder: every row says not_started or not_built, none passed" \
  eval 'out_has "00  First steps" && [[ $(grep -cE "^[0-9]{2} .* (not_started|not_built) " <<<"${OUT}") == "${CATALOG_COUNT}" ]]'
if [[ ${HAVE_PY} -eq 1 ]]; then
  expect "empty folder: the JSON lists every catalog chapter, score 0" \
    eval '[[ $(json "${SCRATCH}/empty.json" "len(d[\"chapters\"]), d[\"score\"], d[\"report_version\"]") == "(${CATALOG_COUNT}, 0, 2)" ]]'
  expect "empty folder: chapters 00 and 01 not_started, 02 not_built" \
    eval '[[ $(chapter_field "${SCRATCH}/empty.json" 00 code) == not_started &&
             $(chapter_field "${SCRATCH}/empty.json" 01 code) == not_started &&
             $(chapter_field "${SCRATCH}/empty.json" 02 code) == not_built ]]'
  expect "empty folder: the learner id and where it came from" \
    eval '[[ $(json "${SCRATCH}/empty.json" "d[\"learner\"][\"id\"] + \"|\" + d[\"learner\"][\"source\"]") == "empty@example.org|--learner" ]]'
  expect "empty folder: Gradescope results.json: every chapter, score 0 of 10 each" \
    eval '[[ $(json "${SCRATCH}/empty-gs.json" "d[\"score\"], len(d[\"tests\"]), sorted({(t[\"score\"], t[\"max_score\"], t[\"status\"]) for t in d[\"tests\"]})") == "(0, ${CATALOG_COUNT}, [(0, 10, '"'"'failed'"'"')])" ]]'
fi
wb empty report --junit "${SCRATCH}/empty-learner.xml"
expect "empty folder, the learner's report: exit 1, never tests=0 failures=0" \
  eval 'rc_is 1 && file_has "${SCRATCH}/empty-learner.xml" "tests=\"2\" failures=\"2\"" && out_has "0 started, 0 fixed, 2 not fixed"'
expect "empty folder, the learner's report: the chapters outside this tree are named, not graded" \
  eval 'out_has "left out of this verdict: 02, 03"'

# --- a partial learner: 00 still broken (2 hints, solution --force), 01 fixed ---------------
wb partial start 00
wb partial start 01
cp "${ROOT}/solutions/${CH01}/${FILE01}" "${SCRATCH}/partial/${CH01}/${FILE01}"
wb partial hint 00
wb partial hint 00
wb partial solution 00 --force
expect "solution --force before a pass: shown and recorded" \
  eval 'rc_is 0 && grep -qP "^solution_forced\t00\t" "${SCRATCH}/partial/progress.tsv"'
wb partial check 00
expect "a failing check records when it ran (last_check, for the class report)" \
  eval 'rc_is 1 && grep -qP "^last_check\t00\t20" "${SCRATCH}/partial/progress.tsv" &&
        ! grep -qP "^last_check\t01\t" "${SCRATCH}/partial/progress.tsv"'
BEFORE=$(fingerprint "${SCRATCH}/partial")
wb partial report --grade --learner partial@example.org --json "${SCRATCH}/partial.json"
expect "partial, --grade: exit 1" rc_is 1
expect "partial, --grade: grading changed nothing in the learner folder" \
  eval '[[ $(fingerprint "${SCRATCH}/partial") == "${BEFORE}" ]]'
expect "partial, --grade: 01 passed, 00 failed, with the signals" \
  eval 'grep -qE "^01 .* passed .*same as the reference solution" <<<"${OUT}" &&
        grep -qE "^00 .* failed .* 2/4 .*solution --force" <<<"${OUT}"'
if [[ ${HAVE_PY} -eq 1 ]]; then
  expect "partial, --grade JSON: points, hints, started, forced, matches_solution" \
    eval '[[ $(json "${SCRATCH}/partial.json" "d[\"score\"]") == 10 &&
             $(chapter_field "${SCRATCH}/partial.json" 00 hints_shown) == 2 &&
             $(chapter_field "${SCRATCH}/partial.json" 00 solution_forced) == 20* &&
             $(chapter_field "${SCRATCH}/partial.json" 00 started) == 20* &&
             $(chapter_field "${SCRATCH}/partial.json" 01 matches_solution) == True &&
             $(chapter_field "${SCRATCH}/partial.json" 01 first_pass) == None &&
             $(chapter_field "${SCRATCH}/partial.json" 00 last_check) == 20* &&
             $(chapter_field "${SCRATCH}/partial.json" 01 last_check) == None ]]'
fi
wb partial report --grade --only 01
expect "autograder's test of 01 (report --grade --only 01): exit 0" eval 'rc_is 0 && out_has "grading 1 chapter"'
printf 'complete garbage\n' >>"${SCRATCH}/partial/progress.tsv"
BEFORE=$(fingerprint "${SCRATCH}/partial")
wb partial report --grade --only 01
expect "a damaged progress.tsv, --grade: reported, not repaired (nothing written)" \
  eval 'rc_is 0 && out_has "is damaged" && [[ $(fingerprint "${SCRATCH}/partial") == "${BEFORE}" ]]'
wb partial report --grade --only 0
expect "report --grade --only 0 (00, not fixed): exit 1" rc_is 1
wb partial report --grade --only 02
expect "report --grade --only 02 (not in this build tree): exit 1, not_built" eval 'rc_is 1 && out_has "not_built"'
wb partial report --grade --only 99
expect "report --only 99: exit 2 naming the catalog's chapters" eval 'rc_is 2 && out_has "unknown chapter '"'"'99'"'"'" && out_has "00, 01"'
wb partial report --grade --frobnicate
expect "report with an unknown flag: exit 2" rc_is 2

# The learner's report records the pass (and so the first pass), as check does.
wb partial report --json "${SCRATCH}/partial-learner.json"
expect "partial, the learner's report: exit 1, the pass recorded with its first pass" \
  eval 'rc_is 1 && grep -qP "^first_pass\t01\t20" "${SCRATCH}/partial/progress.tsv" && out_has "2 started, 1 fixed, 1 not fixed"'
if [[ ${HAVE_PY} -eq 1 ]]; then
  expect "the learner's report JSON: the first pass, the status words kept, mode check" \
    eval '[[ $(chapter_field "${SCRATCH}/partial-learner.json" 01 first_pass) == 20* &&
             $(chapter_field "${SCRATCH}/partial-learner.json" 01 status) == fixed &&
             $(chapter_field "${SCRATCH}/partial-learner.json" 00 status) == "pitfall still present" &&
             $(json "${SCRATCH}/partial-learner.json" "d[\"mode\"]") == check ]]'
fi

# --- what a copy does when it is run: hangs, crashes, does not compile ----------------------
COPY00="${SCRATCH}/partial/${CH00}/${FILE00}"
cp "${COPY00}" "${SCRATCH}/note_saver.orig"
sed -i 's|^#include "note_saver.hpp"|&\n#include <chrono>\n#include <thread>|; s|^  ctx.run();  // "start|  std::this_thread::sleep_for(std::chrono::hours(1));\n&|' "${COPY00}"
RC=0
OUT=$(WORKBOOK_CHECK_TIMEOUT=3 WORKBOOK_LEARNER_DIR="${SCRATCH}/partial" "${WORKBOOK}" report --grade --only 00 \
  --json "${SCRATCH}/hang.json" </dev/null 2>&1) || RC=$?
expect "a copy that hangs: timeout, after the time limit" eval 'rc_is 1 && grep -qE "^00 .* timeout " <<<"${OUT}"'
if [[ ${HAVE_PY} -eq 1 ]]; then
  expect "a copy that hangs: seconds is the test's run (about the 3 s limit), the build apart" \
    eval 'python3 -c "import json, sys; c = json.load(open(sys.argv[1]))[\"chapters\"][0]; sys.exit(not (3 <= c[\"seconds\"] < 10 and \"build_seconds\" in c))" "${SCRATCH}/hang.json"'
fi
cp "${SCRATCH}/note_saver.orig" "${COPY00}"
sed -i 's|^#include "note_saver.hpp"|&\n#include <cstdlib>|; s|^  ctx.run();  // "start|  std::abort();\n&|' "${COPY00}"
wb partial report --grade --only 00
expect "a copy that crashes: crashed (SIGABRT)" eval 'rc_is 1 && grep -qE "^00 .* crashed " <<<"${OUT}"'
printf 'this is not C++\n' >>"${COPY00}"
wb partial report --grade --only 00 --json "${SCRATCH}/broken.json"
expect "a copy that does not compile: build_failed, with the compiler's message" \
  eval 'rc_is 1 && grep -qE "^00 .* build_failed " <<<"${OUT}" && file_has "${SCRATCH}/broken.json" "does not compile"'
cp "${SCRATCH}/note_saver.orig" "${COPY00}"
rm -- "${COPY00}"
wb partial report --grade --only 00
expect "a copy that lost its file: missing_files" eval 'rc_is 1 && grep -qE "^00 .* missing_files " <<<"${OUT}"'
cp "${SCRATCH}/note_saver.orig" "${COPY00}"

RC=0
OUT=$(WORKBOOK_GRADE_NO_NAMESPACES=1 WORKBOOK_LEARNER_DIR="${SCRATCH}/partial" "${WORKBOOK}" report --grade \
  --only 01 </dev/null 2>&1) || RC=$?
expect "without a network namespace the report says the network is NOT isolated" \
  eval 'rc_is 0 && out_has "network NOT isolated"'

# The autograder's tests, run the way GitHub Classroom runs them (chapters 00 and 01 only).
wb partial autograding --run --file "${SCRATCH}/autograding.json"
expect "autograding --run, partial: Points 10/20, exit 1" eval 'rc_is 1 && out_has "Points 10/20"'
# --- a learner with every chapter of the tree fixed (their own comments and layout) ----------
wb full start 00
wb full start 01
{ printf '// my fix\n'; sed 's/^  //' "${ROOT}/solutions/${CH00}/${FILE00}"; } >"${SCRATCH}/full/${CH00}/${FILE00}"
cp "${ROOT}/solutions/${CH01}/${FILE01}" "${SCRATCH}/full/${CH01}/${FILE01}"
wb full hint 01
wb full report --json "${SCRATCH}/full-learner.json"
expect "all fixed, the learner's report: exit 0 (the chapters outside this tree not graded, and said so)" \
  eval 'rc_is 0 && out_has "2 started, 2 fixed, 0 not fixed" && out_has "left out of this verdict"'
wb full report --grade --only 00,01 --learner full@example.org --json "${SCRATCH}/full.json"
expect "all fixed, --grade --only 00,01: exit 0, 20 of 20 points" eval 'rc_is 0 && out_has "20 of 20 points"'
expect "all fixed: a copy equal to the solution but for comments and indentation is flagged" \
  eval 'grep -qE "^00 .* passed .*same as the reference solution" <<<"${OUT}"'
wb full report --grade
expect "all fixed, --grade of the whole catalog: exit 1 (chapters not built here count as not passed)" \
  eval 'rc_is 1 && out_has "counted as not passed: 02"'

# --- a read-only learner folder --------------------------------------------------------------
# As root, permissions do not stop a write: the folder is bind-mounted
# read-only in a private mount namespace (unshare -m), seen by that command only.
ro_wb() {
  RC=0
  OUT=$(WORKBOOK_LEARNER_DIR="${SCRATCH}/full" unshare -m bash -c 'mount --bind "$1" "$1" &&
    mount -o remount,ro,bind "$1" "$1" && shift && exec "$@"' ro "${SCRATCH}/full" "${WORKBOOK}" "$@" \
    </dev/null 2>&1) || RC=$?
}
if unshare -m bash -c 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" && ! touch "$1/.probe"' \
  ro "${SCRATCH}/full" 2>/dev/null; then
  BEFORE=$(fingerprint "${SCRATCH}/full")
  ro_wb report --grade --only 00,01 --json "${SCRATCH}/ro.json"
  expect "read-only folder, --grade: an honest grade (exit 0, 20 of 20), no write error" \
    eval 'rc_is 0 && out_has "20 of 20 points" && ! out_has "Read-only file system" && file_has "${SCRATCH}/ro.json" "\"score\": 20"'
  expect "read-only folder: unchanged" eval '[[ $(fingerprint "${SCRATCH}/full") == "${BEFORE}" ]]'
else
  printf 'skipped read-only learner folder: this machine cannot mount a folder read-only (unshare -m)\n'
fi

# The autograder's tests, run the way GitHub Classroom runs them.
wb full autograding --run --file "${SCRATCH}/autograding.json"
expect "autograding --run, every chapter fixed: Points 20/20, exit 0" eval 'rc_is 0 && out_has "Points 20/20"'
# --- hint counts edited by hand ----------------------------------------------------------------
wb full report --grade --only 00,01
expect "the untouched progress file: no note of an edit" eval 'rc_is 0 && ! out_has "changed by hand" && ! out_has "no seal"'
cp "${SCRATCH}/full/progress.tsv" "${SCRATCH}/full-progress.tsv"
awk -F '\t' -v OFS='\t' '$1 == "01" { $4 = 0 } { print }' "${SCRATCH}/full/progress.tsv" >"${SCRATCH}/p.new"
mv "${SCRATCH}/p.new" "${SCRATCH}/full/progress.tsv"
# Graded as another learner: the class report sees two learners with one progress file.
wb full report --grade --only 00,01 --learner edited@example.org --json "${SCRATCH}/edited.json"
expect "hint count lowered by hand: the report says so" eval 'out_has "changed by hand"'
wb full hint 00
wb full report --grade --only 00,01
expect "the edit stays visible after the tool rewrote the file" \
  eval 'out_has "changed by hand" && grep -qP "^seal\t[0-9a-f]{16}\t\S+\tnew\t20" "${SCRATCH}/full/progress.tsv"'
grep -v '^seal' "${SCRATCH}/full/progress.tsv" >"${SCRATCH}/p.new"
mv "${SCRATCH}/p.new" "${SCRATCH}/full/progress.tsv"
wb full report --grade --only 00,01
expect "the seal line removed: the report says the counts are not sealed" eval 'out_has "has no seal"'
cp "${SCRATCH}/full-progress.tsv" "${SCRATCH}/full/progress.tsv"

# --- class-report: the reports of a class, some broken ---------------------------------------
CLASS="${SCRATCH}/class"
mkdir -p "${CLASS}"
cp "${SCRATCH}/empty.json" "${SCRATCH}/partial.json" "${SCRATCH}/full.json" "${SCRATCH}/edited.json" "${CLASS}/"
sed 's/"generated": "[^"]*"/"generated": "2020-01-01T00:00:00Z"/' "${SCRATCH}/partial.json" >"${CLASS}/partial-old.json"
printf 'this is not JSON\n' >"${CLASS}/notes.json"
head -c 200 "${SCRATCH}/full.json" >"${CLASS}/cut-short.json"
sed 's/"report_version": 2/"report_version": 7/' "${SCRATCH}/full.json" >"${CLASS}/future.json"
grep -v '"report_version"' "${SCRATCH}/full.json" | sed 's/full@example.org/old@example.org/' >"${CLASS}/version1.json"
sed 's/"id": "full@example.org"/"id": ""/' "${SCRATCH}/full.json" >"${CLASS}/anonymous.json"
wb empty class-report "${CLASS}" --out "${SCRATCH}" --now 2030-01-01T00:00:00Z
expect "class-report: the table is written (exit 0) despite the broken files" \
  eval 'rc_is 0 && [[ -s ${SCRATCH}/class-report.md && -s ${SCRATCH}/class-report.html ]]'
expect "class-report: each bad file is named, with why" \
  eval 'out_has "notes.json: not JSON" && out_has "cut-short.json: not JSON" && out_has "future.json: a report of version 7" &&
        out_has "version1.json: a report of version 1" && out_has "anonymous.json: no learner id" &&
        out_has "partial-old.json: a second report of learner '"'"'partial@example.org'"'"'"'
MD="${SCRATCH}/class-report.md"
expect "class-report: one row per learner, with fixed/started/not started, hints and the last check" \
  eval 'grep -qE "^\| partial@example.org \| 10/[0-9]+ \| [0-9]+ d ago \| started, 2 hints \| \*\*fixed\*\* \|" "${MD}" &&
        grep -qE "^\| full@example.org \| 20/[0-9]+ \| never \| \*\*fixed\*\* \| \*\*fixed\*\*, 1 hint \|" "${MD}" &&
        grep -qE "^\| empty@example.org \| 0/[0-9]+ \| never \| not started \| not started \|" "${MD}" &&
        grep -qE "^\| full@example.org \| 20/" "${MD}"'
expect "class-report: the honesty signals" \
  eval 'grep -E "^\| partial@example.org" "${MD}" | grep -qF "solution --force: 00" &&
        grep -E "^\| edited@example.org" "${MD}" | grep -qF "hint counts edited by hand" &&
        grep -E "^\| edited@example.org" "${MD}" | grep -qF "same progress file as full@example.org" &&
        ! grep -E "^\| empty@example.org" "${MD}" | grep -qF "not sealed"'
expect "class-report: the per-chapter summary (00: 2 fixed, 1 stuck with failed, 1 not started)" \
  eval 'grep -qE "^\| 00 First steps: nothing happened \| 2 \| 1 \| 1 \| [0-9]+ \| failed 1 \|" "${MD}"'
expect "class-report: the skipped files listed in the report too" \
  eval 'grep -qF -- "- notes.json: not JSON" "${MD}"'
if [[ ${HAVE_PY} -eq 1 ]]; then
  expect "class-report: the HTML parses, one row per learner" python3 -c '
import html.parser, sys
class P(html.parser.HTMLParser):
    rows = 0
    def handle_starttag(self, tag, attrs):
        if tag == "tr": P.rows += 1
P().feed(open(sys.argv[1]).read())
# 4 learners + a header, then the summary: a header and one row per chapter
sys.exit(P.rows != 5 + 1 + int(sys.argv[2]))' "${SCRATCH}/class-report.html" "${CATALOG_COUNT}"
fi
mkdir -p "${SCRATCH}/nothing"
printf 'nope\n' >"${SCRATCH}/nothing/a.json"
wb empty class-report "${SCRATCH}/nothing"
expect "class-report of a folder with no usable report: exit 1, says why, still writes the table" \
  eval 'rc_is 1 && out_has "no usable report" && [[ -s ${SCRATCH}/nothing/class-report.md ]]'
wb empty class-report "${SCRATCH}/no-such-folder"
expect "class-report of a folder that does not exist: exit 2" rc_is 2
wb empty class-report "${ROOT}/tests/workbook/class-sample" --out "${SCRATCH}" --now 2026-12-01T00:00:00Z
expect "class-report of the committed sample (tests/workbook/class-sample): written, broken ones named" \
  eval 'rc_is 0 && out_has "skipped" && file_has "${SCRATCH}/class-report.md" "## Per chapter"'

# --- the autograding runner itself ------------------------------------------------------------
cat >"${SCRATCH}/io.json" <<'EOF'
{"tests": [
  {"name": "exact", "setup": "", "run": "echo hello", "input": "", "output": "hello", "comparison": "exact", "timeout": 1, "points": 1},
  {"name": "input", "setup": "", "run": "cat", "input": "a\nb", "output": "a\nb", "comparison": "included", "timeout": 1, "points": 2},
  {"name": "wrong", "setup": "", "run": "echo hi", "input": "", "output": "bye", "comparison": "included", "timeout": 1, "points": 4},
  {"name": "env", "setup": "", "run": "test -z \"$HOME\"", "input": "", "output": "", "comparison": "included", "timeout": 1, "points": 8}
]}
EOF
wb empty autograding --run --file "${SCRATCH}/io.json"
expect "autograding --run: output comparisons and the runner's bare environment, as GitHub's" \
  eval 'rc_is 1 && out_has "Points 11/15" && out_has "3 of 4 tests passed"'
wb empty autograding --frobnicate
expect "autograding with an unknown flag: exit 2" rc_is 2

finish
