#!/usr/bin/env bash
# End-to-end tests of ./workbook bench: a learner's copy measured beside the
# pitfall and the fix (bench NN --mine), the legend under every table, and the
# lessons' reference tables generated from the committed Google Benchmark JSON
# (bench --tables, --fix, --docs).
#
# It works in a temporary learner directory (WORKBOOK_LEARNER_DIR) and its own
# build tree (WORKBOOK_BUILD_DIR, default build/e2e-bench) with chapter 03
# only, so the learner's real work and the main build tree are left alone.
# The first run builds chapter 03's benchmark (a few minutes on 2 cores);
# later runs are incremental. The benchmarks run with --quick.
#
# Run it with ctest (label "tool") or directly: bash tests/workbook/bench.sh
# Its last line reads "N passed, N failed"; it exits non-zero if any failed.
# shellcheck disable=SC2016
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
readonly ROOT
readonly WORKBOOK="${ROOT}/workbook"
readonly CHAPTER="03-sequential-vs-concurrent"
readonly FILE="note_reader.cpp"
readonly LESSON="${ROOT}/chapters/${CHAPTER}/README.md"

SCRATCH=$(mktemp -d)
readonly SCRATCH
export WORKBOOK_LEARNER_DIR="${SCRATCH}/my-work"
export WORKBOOK_BUILD_DIR="${WORKBOOK_BENCH_TEST_BUILD_DIR:-build/e2e-bench}"
export NO_COLOR=1
readonly COPY="${WORKBOOK_LEARNER_DIR}/${CHAPTER}/${FILE}"
readonly BENCH="${ROOT}/${WORKBOOK_BUILD_DIR}/bench"

cleanup() { rm -rf -- "${SCRATCH}"; }
trap cleanup EXIT

# shellcheck source=tests/workbook/lib.sh
source "${ROOT}/tests/workbook/lib.sh"

# The "time / fix time" of a row of the terminal table: ROW_RATIO KEY VARIANT
# prints the ratio of VARIANT's row of benchmark KEY (without the "x").
row_ratio() {
  awk -v key="$1" -v variant="$2" '
    /^what the columns mean/ { exit }
    /^[^ ]/ { current = $1; if (current == key && $2 == variant) { print $5; exit } next }
    current == key && $1 == variant { print $4; exit }' <<<"${OUT}" | tr -d x
}

# Every counter in the table's header has a line of its own in the legend,
# with a meaning (not the "not described" placeholder); so do the fixed columns.
legend_complete() {
  local header counter
  header=$(grep -m 1 '^benchmark ' <<<"${OUT}")
  for counter in ${header#*time / fix time}; do
    grep -qE "^  ${counter} +[^ (]" <<<"${OUT}" || { echo "no legend for ${counter}"; return 1; }
  done
  for counter in benchmark variant time "time / fix time"; do
    grep -qE "^  ${counter} +[^ ]" <<<"${OUT}" || { echo "no legend for ${counter}"; return 1; }
  done
  ! out_has "(not described"
}

# Only chapter 03 in this build tree: configure it so once; ./workbook keeps
# the setting when it configures again.
tool_tree "03" "${WORKBOOK_LEARNER_DIR}"

# Results of an earlier run must not pass for this one's.
rm -rf -- "${BENCH}"

# --- wrong usage --------------------------------------------------------------------
wb bench --all --mine
expect "bench --all --mine: exit 2, names the chapter to give" \
  eval 'rc_is 2 && out_has "--mine measures your copy of one chapter"'
wb bench 03 --mine --update-reference
expect "bench --mine --update-reference: exit 2" eval 'rc_is 2 && out_has "never your copy"'
wb bench 03 --quick --update-reference
expect "bench --quick --update-reference: exit 2" eval 'rc_is 2 && out_has "median of"'

# --- bench NN --mine ------------------------------------------------------------
wb bench 03 --mine --quick
expect "bench --mine before start: exit 1, says how to start" \
  eval 'rc_is 1 && out_has "is not started" && out_has "./workbook start 03"'

wb start 03
wb bench 03 --mine --quick
expect "bench --mine: the pitfall, the fix and yours" \
  eval 'rc_is 0 && out_has "the pitfall, the fix, then your copy" && grep -qE "^ +yours " <<<"${OUT}"'
expect "bench --mine: Google Benchmark's JSON of your copy kept" \
  file_has "${BENCH}/03-yours.json" '"learner/concurrent/64/real_time"'
expect "bench --mine: the legend names your copy" \
  eval 'out_has "yours your copy (" && out_has "/my-work/${CHAPTER}/)"'
expect "bench --mine: every column has a line in the legend" legend_complete
expect "bench --mine: notes explained" eval 'grep -qE "^  notes +notes read per second" <<<"${OUT}"'
expect "bench --mine: the broken copy is many times slower than the fix at N=64" \
  eval '(( $(row_ratio sequential/64 yours | cut -d. -f1) >= 8 ))'
expect "bench --mine: the plot has your copy" file_has "${BENCH}/03.dat" "# yours/sequential"

cp "${ROOT}/solutions/${CHAPTER}/${FILE}" "${COPY}"
wb bench 03 --mine --quick
expect "bench --mine: your fixed copy measures like the fix" \
  eval 'rc_is 0 && (( $(row_ratio sequential/64 yours | cut -d. -f1) < 3 ))'

printf 'this is not C++\n' >>"${COPY}"
wb bench 03 --mine --quick
expect "bench --mine: a copy that does not compile is named as such" \
  eval 'rc_is 1 && out_has "your copy does not compile"'
rm -f -- "${COPY}"
wb bench 03 --mine --quick
expect "bench --mine: a copy without its file says how to repair" \
  eval 'rc_is 1 && out_has "reset 03"'

# --- bench NN: the legend, one name per number ----------------------------------------
wb bench 03 --quick
expect "bench: the legend under the table" \
  eval 'rc_is 0 && out_has "what the columns mean:" && legend_complete'
expect "bench: no two columns named speed-up" \
  eval '! out_has "speed-up" && ! out_has "speedup"'

# --- the lessons' reference tables ----------------------------------------------------
wb bench --tables
expect "bench --tables: every lesson's table is its JSON's" \
  eval 'rc_is 0 && out_has "match benchmarks/reference/"'

cp "${LESSON}" "${SCRATCH}/lesson.md"
# A number of the table edited by hand: the first time in ms in the block.
awk '/^<!-- bench-table 03/ { inside = 1 }
     inside && !done && /^\| / && sub(/\| [0-9.]+ ms \|/, "| 9999 ms |") { done = 1 }
     { print }' "${LESSON}" >"${SCRATCH}/edited.md"
wb bench --tables "${SCRATCH}/edited.md"
expect "bench --tables: an edited number fails, naming the lesson and the line" \
  eval 'rc_is 1 && out_has "edited.md: a reference table differs" && out_has "9999 ms" &&
        out_has "bench --tables --fix"'
wb bench --tables --fix "${SCRATCH}/edited.md"
expect "bench --tables --fix: rewrites the table from the JSON" \
  eval 'rc_is 0 && cmp -s "${SCRATCH}/edited.md" "${LESSON}"'

sed '/^<!-- end of bench-table 03/d' "${LESSON}" >"${SCRATCH}/unclosed.md"
wb bench --tables "${SCRATCH}/unclosed.md"
expect "bench --tables: a block without its end marker fails" \
  eval 'rc_is 1 && out_has "has no \"<!-- end of bench-table -->\" line"'

printf '# A page\n\n<!-- bench-table 99: a chapter that does not exist -->\n<!-- end of bench-table 99 -->\n' \
  >"${SCRATCH}/unknown.md"
wb bench --tables "${SCRATCH}/unknown.md"
expect "bench --tables: a chapter without results fails, saying which" \
  eval 'rc_is 1 && out_has "no chapter 99"'

# --- the documentation's plots ---------------------------------------------------------
wb bench --docs "${SCRATCH}/docs"
count=$(find "${ROOT}/benchmarks/reference" -name '*-fix.json' | wc -l)
pngs=0
for png in "${SCRATCH}"/docs/*.png; do
  [[ -f ${png} && $(head -c 4 "${png}" | tail -c 3) == PNG ]] && pngs=$((pngs + 1))
done
expect "bench --docs: one PNG plot per chapter with reference results (${count})" \
  eval 'rc_is 0 && [[ ${count} -gt 0 && ${pngs} -eq ${count} ]]'
expect "bench --docs: the Benchmarks page shows table and plot" \
  eval 'file_has "${SCRATCH}/docs/summary.md" "{#benchmarks}" &&
        file_has "${SCRATCH}/docs/summary.md" "\\image html 03.png" &&
        file_has "${SCRATCH}/docs/summary.md" "| sequential/64 | pitfall |"'

finish
