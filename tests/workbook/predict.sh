#!/usr/bin/env bash
# End-to-end tests of "predict, then run": ./workbook run NN on a terminal asks
# the chapter's prediction question (chapters/catalog.json, "predict") before
# the demos, shows the guess beside what each demo measured, and keeps it in
# progress.tsv, from where report --json lists it. Without a terminal on
# stdin, or with --no-predict, it asks nothing. A catalog entry whose demo
# never prints the figure it asks for is a clear error, and the CTest check
# NN-slug/predict (cmake/ExpectMeasure.cmake) catches it before a learner does.
#
# The terminal is a pseudo-terminal made by script(1) (util-linux's bsdutils,
# an essential Debian package), which types the answers given to `wbt`.
#
# It works in a temporary learner directory (WORKBOOK_LEARNER_DIR) and its own
# build tree (WORKBOOK_BUILD_DIR, default build/e2e-predict) with chapters 01
# and 03 only. The first run builds them (a few minutes on 2 cores); later
# runs are incremental.
#
# Run it with ctest (label "tool") or directly: bash tests/workbook/predict.sh
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
export WORKBOOK_BUILD_DIR="${WORKBOOK_PREDICT_BUILD_DIR:-build/e2e-predict}"
export NO_COLOR=1
readonly PROGRESS="${WORKBOOK_LEARNER_DIR}/progress.tsv"
readonly PREDICT_FILE="${ROOT}/${WORKBOOK_BUILD_DIR}/catalog/03.predict"

cleanup() {
  # The question file is put back if a case below changed it.
  if [[ -f ${SCRATCH}/03.predict ]]; then cp "${SCRATCH}/03.predict" "${PREDICT_FILE}"; fi
  rm -rf -- "${SCRATCH}"
}
trap cleanup EXIT

# shellcheck source=tests/workbook/lib.sh
source "${ROOT}/tests/workbook/lib.sh"

# wbt INPUT ARGS...: runs ./workbook on a pseudo-terminal, typing INPUT (the
# lines a learner would type, then the end of input); output and exit code as wb.
wbt() {
  local input=$1
  shift
  RC=0
  OUT=$(printf '%b' "${input}" | script -qefc "$(printf '%q ' "${WORKBOOK}" "$@")" /dev/null 2>&1) ||
    RC=$?
  OUT=${OUT//$'\r'/}
}

# The number of prediction lines in progress.tsv.
predictions() { grep -c $'^predict\t' "${PROGRESS}" 2>/dev/null || true; }
# The last prediction line of progress.tsv.
last_prediction() { { grep $'^predict\t' "${PROGRESS}" 2>/dev/null || true; } | tail -n 1; }
# Whether text A comes before text B in the output.
before() {
  local a b
  a=$(grep -nF -m 1 -- "$1" <<<"${OUT}" | cut -d: -f1)
  b=$(grep -nF -m 1 -- "$2" <<<"${OUT}" | cut -d: -f1)
  [[ -n ${a} && -n ${b} && ${a} -lt ${b} ]]
}

command -v script >/dev/null 2>&1 || {
  echo "script(1) is missing (Debian package bsdutils): it gives the tests a terminal" >&2
  exit 1
}

# Only chapters 01 and 03 in this build tree: configure it so once; ./workbook
# keeps the setting when it configures again.
tool_tree "01;03" "${WORKBOOK_LEARNER_DIR}"

# --- no terminal, --no-predict: nothing asked -------------------------------------
wb run 03
expect "no terminal on stdin: run 03 asks nothing and runs the demos" \
  eval 'rc_is 0 && ! out_has "predict first" && ! out_has "your guess" && out_has "Chapter 03, pitfall"'
expect "no terminal: the demos still print their measured line" out_matches '^measured: read_time=[0-9.]+ ms$'
expect "no terminal: no prediction recorded" eval '[[ $(predictions) -eq 0 ]]'

wbt '150\n' run 03 --no-predict
expect "--no-predict on a terminal: nothing asked" \
  eval 'rc_is 0 && ! out_has "predict first" && ! out_has "your guess" && out_has "Chapter 03, fix"'
expect "--no-predict: no prediction recorded" eval '[[ $(predictions) -eq 0 ]]'

# --- a guess on a terminal ------------------------------------------------------------
wbt '100\n' run 03
expect "terminal: run 03 asks the catalog's question" \
  eval 'rc_is 0 && out_has "predict first" && out_has "reads 8 notes of 20 ms each, one after another"'
expect "terminal: the question comes before the demos" before "predict first" "Chapter 03, pitfall"
expect "terminal: the guess is shown beside the pitfall's measurement, which answers it" \
  out_matches '^  the pitfall +[0-9]+(\.[0-9])? ms +<- the question is about this one$'
expect "terminal: the guess is shown" out_matches '^  your guess +100 ms$'
expect "terminal: the fix's measurement is shown too" out_matches '^  the fix +[0-9]+(\.[0-9])? ms$'
# 100 for 8 x 20 ms: too low, however loaded the machine is (the demo runs in real time).
expect "terminal: how far off, in words" \
  out_matches '^  ((close: )?[0-9]+% |about [0-9.]+ times )too low \([0-9.]+ ms under\)$'
expect "terminal: the guess is kept in progress.tsv" \
  eval '[[ $(predictions) -eq 1 ]] && last_prediction | grep -qE "^predict	03	read_time	100	[0-9]+(\.[0-9])?	ms	[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$"'
measured=$(last_prediction | cut -f5)
expect "terminal: progress.tsv keeps the figure the pitfall printed" \
  out_matches "^measured: read_time=${measured//./\\.} ms$"
expect "terminal: the output says where the guess is kept" out_has "recorded in"

wbt 'abc\n-5\n1,5\n160 ms\n' run 03
expect "not a number: asked again, each answer named" \
  eval 'rc_is 0 && out_has "'"'"'abc'"'"' is not a number" && out_has "'"'"'-5'"'"' is not a number" && out_has "'"'"'1,5'"'"' is not a number"'
expect "a number followed by the unit is taken: 160 ms" \
  eval '[[ $(predictions) -eq 2 ]] && last_prediction | cut -f4 | grep -qx 160'

wbt '\n' run 03
expect "Enter alone skips the question, the demos still run" \
  eval 'rc_is 0 && out_has "skipped" && ! out_has "your prediction" && out_has "Chapter 03, fix"'
expect "a skipped question records nothing" eval '[[ $(predictions) -eq 2 ]]'

wbt '' run 03
expect "end of input (Ctrl-D) skips the question" \
  eval 'rc_is 0 && out_has "no guess" && out_has "Chapter 03, fix" && [[ $(predictions) -eq 2 ]]'

# --- chapter 01, started: your copy is measured too --------------------------------------
wb start 01
expect "start 01" rc_is 0
wbt '40\n' run 01
expect "run 01 on a terminal: the question of chapter 01" \
  eval 'rc_is 0 && out_has "How long does the slowest request take, in ms?"'
expect "run 01: the pitfall, the fix and your copy are each measured" \
  eval 'out_matches "^  the pitfall +[0-9.]+ ms +<- the question" && out_matches "^  the fix +[0-9.]+ ms$" && out_matches "^  your copy +[0-9.]+ ms$"'
expect "run 01: far too low is said in times (40 for 6 requests of over 30 ms each)" \
  out_matches '^  about [0-9.]+ times too low \([0-9.]+ ms under\)$'
expect "run 01: recorded with chapter 01's measure" \
  eval 'last_prediction | grep -qE "^predict	01	slowest_request	40	[0-9.]+	ms	"'

# --- progress.tsv: old files load, predictions survive, bad lines are named -------------
wb list
expect "progress.tsv with predictions loads without a warning" eval 'rc_is 0 && ! out_has "damaged"'
cp "${PROGRESS}" "${SCRATCH}/progress.with-predictions"
printf '# chapter\tstarted\tlast_pass\thints_shown\tpass_hash\n01\t2024-01-01T00:00:00Z\t-\t2\t-\n' >"${PROGRESS}"
wb list
expect "an old progress.tsv (no predictions) still loads" eval 'rc_is 0 && ! out_has "damaged"'
wbt '300\n' run 03
expect "an old progress.tsv gains the prediction and keeps its chapter line" \
  eval 'rc_is 0 && [[ $(predictions) -eq 1 ]] && grep -qx "01	2024-01-01T00:00:00Z	-	2	-" "${PROGRESS}"'
printf 'predict\t03\tread_time\tlots\t161\tms\t2024-01-01T00:00:00Z\n' >>"${PROGRESS}"
wb list
expect "a damaged prediction line is named and dropped" \
  eval 'out_has "damaged" && out_has "a prediction that has a guess or a measurement that is not a number: dropped"'
expect "the damaged prediction line is gone, the good one kept" \
  eval '[[ $(predictions) -eq 1 ]] && ! grep -q lots "${PROGRESS}"'
cp "${SCRATCH}/progress.with-predictions" "${PROGRESS}"

# --- report --json lists the predictions --------------------------------------------------
# Chapter 01 unstarted again (its predictions stay), so that the report has no
# chapter to build and check.
rm -rf -- "${WORKBOOK_LEARNER_DIR}/01-blocking-in-coroutines"
wb report --json "${SCRATCH}/report.json"
expect "report --json: written" eval '[[ -s ${SCRATCH}/report.json ]]'
if command -v python3 >/dev/null 2>&1; then
  expect "report --json: the predictions, with chapter, measure, guess, measured, unit, time" python3 -c '
import json, sys
report = json.load(open(sys.argv[1]))
p = report["predictions"]
assert [x["chapter"] for x in p] == ["03", "03", "01"], p
assert p[0]["measure"] == "read_time" and p[0]["guess"] == 100 and p[0]["unit"] == "ms", p[0]
assert p[0]["measured"] > 0, p[0]
assert p[2]["measure"] == "slowest_request" and p[2]["guess"] == 40, p[2]
assert all(x["time"].endswith("Z") for x in p), p' "${SCRATCH}/report.json"
else
  expect "report --json: the predictions" grep -q '"measure": "read_time", "guess": 100,' "${SCRATCH}/report.json"
fi

# --- a question whose demo never prints its figure ------------------------------------------
cp "${PREDICT_FILE}" "${SCRATCH}/03.predict"
sed -i 's/^read_time\t/raed_time\t/' "${PREDICT_FILE}"
before_count=$(predictions)
wbt '100\n' run 03
expect "a misspelled measure: run fails with a message naming the key" \
  eval 'rc_is 1 && out_has "never printed \"measured: raed_time=<number> ms\"" && out_has "not recorded"'
expect "a misspelled measure: the demos still ran" out_has "Chapter 03, fix"
expect "a misspelled measure: nothing recorded" test "$(predictions)" -eq "${before_count}"
cp "${SCRATCH}/03.predict" "${PREDICT_FILE}"
rm -f -- "${SCRATCH}/03.predict"

# --- the CTest check that every question's figure is printed by its demo -------------------
# The chapters' checks only: this script is the test workbook/predict.
ctest_out=$(cd "${ROOT}/${WORKBOOK_BUILD_DIR}" && ctest -R '^[0-9][0-9]-[a-z0-9-]+/predict$' 2>&1) &&
  ctest_rc=0 || ctest_rc=$?
OUT=${ctest_out} RC=${ctest_rc}
expect "ctest NN-slug/predict: passes for chapters 01 and 03" \
  eval 'rc_is 0 && out_has "01-blocking-in-coroutines/predict" && out_has "03-sequential-vs-concurrent/predict"'
measure_check() { # KEY UNIT
  RC=0
  OUT=$(cmake -DBINARY="${ROOT}/${WORKBOOK_BUILD_DIR}/ch03_demo_pitfall" -DCHAPTER=03-sequential-vs-concurrent \
    -DDEMO=pitfall -DKEY="$1" -DUNIT="$2" -P "${ROOT}/cmake/ExpectMeasure.cmake" 2>&1) || RC=$?
}
measure_check read_time ms
expect "ExpectMeasure: the right key and unit pass" eval 'rc_is 0 && out_has "measures read_time="'
measure_check raed_time ms
expect "ExpectMeasure: a misspelled key fails, naming it and what the demo prints" \
  eval '! rc_is 0 && out_has "never prints" && out_has "raed_time=<number> ms" && out_has "measured: read_time="'
measure_check read_time s
expect "ExpectMeasure: another unit fails" eval '! rc_is 0 && out_has "predict.unit for it is \"s\""'

# --- how far off, in words (the demos' figures vary; these do not) ---------------------------
words() { # GUESS MEASURED UNIT
  OUT=$(bash -c 'source "$1/tools/workbook/common.sh"; source "$1/tools/workbook/predict.sh"; predict_words "$2" "$3" "$4"' \
    _ "${ROOT}" "$@")
}
words 161 161 ms
expect "words: the same figure is exactly right" eval '[[ ${OUT} == "exactly right" ]]'
words 160 161.4 ms
expect "words: within 5% is spot on" eval '[[ ${OUT} == "spot on: within 5% of the measurement (1.4 ms under)" ]]'
words 180 160 ms
expect "words: within 25% is close" eval '[[ ${OUT} == "close: 13% too high (20 ms over)" ]]'
words 100 160 ms
expect "words: further off, in percent" eval '[[ ${OUT} == "38% too low (60 ms under)" ]]'
words 8 544 reads
expect "words: twice or more, in times" eval '[[ ${OUT} == "about 68 times too low (536 reads under)" ]]'
words 3 0 notes
expect "words: a guess above a measured 0" eval '[[ ${OUT} == "too high: it measured 0 notes (3 notes over)" ]]'
words 0 3 notes
expect "words: a guess of 0 below the measurement" eval '[[ ${OUT} == "too low: it measured 3 notes, not 0" ]]'
words 50 20 ms
expect "words: 2.5 times too high" eval '[[ ${OUT} == "about 2.5 times too high (30 ms over)" ]]'

# --- wrong usage ------------------------------------------------------------------------------
wb run 03 --predict
expect "an unknown option of run is refused" eval 'rc_is 2 && out_has "unknown option '"'"'--predict'"'"'"'

finish
