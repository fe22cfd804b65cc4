# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# timings: how long the README's commands take, against their targets
# ---------------------------------------------------------------------------
#
# Each measurement runs the command as a user would (./workbook in a child
# process, no terminal) and compares the wall-clock time with its target:
#   test-warm      ./workbook test with nothing changed since the last run
#   check-fail     ./workbook check 01 after a one-line edit that keeps the pitfall
#   check-pass     ./workbook check 01 after a one-line edit that fixes it
#   test-fresh     (--fresh) ./workbook test in a fresh clone of this checkout
#   first-check    (--fresh) a learner's first ./workbook check 03 in another
#                  fresh clone (it builds what chapter 03 needs)
# The checks run in a tree of their own (build/timings, chapter 01 only) with
# a temporary learner folder: your work and the main tree are left alone.
# Each result is appended to build/timings.tsv (date, commit, name, seconds,
# target), so a regression shows against earlier runs; --record appends to
# benchmarks/reference/tool-timings.tsv too, the committed reference.

readonly TIMINGS_LOG="build/timings.tsv"
readonly TIMINGS_REFERENCE="benchmarks/reference/tool-timings.tsv"
TIMING_NAMES=() TIMING_SECONDS=() TIMING_TARGETS=() TIMING_RESULTS=()

# time_command NAME TARGET_SECONDS COMMAND...: runs COMMAND (output to
# build/timings-NAME.log) and records its wall-clock time.
time_command() {
  local name=$1 target=$2 start rc=0 elapsed
  shift 2
  start=$(now_us)
  "$@" >"build/timings-${name}.log" 2>&1 </dev/null || rc=$?
  elapsed=$(format_seconds $(($(now_us) - start)))
  TIMING_NAMES+=("${name}") TIMING_SECONDS+=("${elapsed}") TIMING_TARGETS+=("${target}")
  TIMING_RESULTS+=("${rc}")
  note "$(printf '%-12s %7s s  (target %s s)%s' "${name}" "${elapsed}" "${target}" \
    "$([[ ${rc} -eq 0 ]] || echo "  exit ${rc}: see build/timings-${name}.log")")"
}

# The check after a one-line edit, failing then passing, in build/timings.
time_checks() {
  local work copy chapter=01-blocking-in-coroutines file=fingerprint_service.cpp
  work=$(mktemp -d)
  copy="${work}/${chapter}/${file}"
  export WORKBOOK_LEARNER_DIR="${work}" WORKBOOK_BUILD_DIR="build/timings"
  local cache="${WORKBOOK_BUILD_DIR}/CMakeCache.txt"
  if ! grep -qs '^WORKBOOK_FOUNDATION:BOOL=OFF$' "${cache}"; then
    cmake --preset default -B "${WORKBOOK_BUILD_DIR}" -DWORKBOOK_ONLY_CHAPTERS=01 \
      -DWORKBOOK_FOUNDATION=OFF -DWORKBOOK_LEARNER_DIR="${work}" >/dev/null
  fi
  # Warm up: the first check builds the chapter; it is not what is measured.
  "${ROOT}/workbook" start 01 >/dev/null 2>&1
  "${ROOT}/workbook" check 01 >/dev/null 2>&1 || true
  printf '// one line\n' >>"${copy}"
  time_command check-fail 2 expect_exit 1 "${ROOT}/workbook" check 01
  cp "solutions/${chapter}/${file}" "${copy}"
  "${ROOT}/workbook" check 01 >/dev/null 2>&1 || true
  printf '// one line\n' >>"${copy}"
  time_command check-pass 2 "${ROOT}/workbook" check 01
  unset WORKBOOK_LEARNER_DIR WORKBOOK_BUILD_DIR
  rm -rf -- "${work}"
}

# expect_exit CODE COMMAND...: succeeds when COMMAND exits with CODE.
expect_exit() {
  local want=$1 rc=0
  shift
  "$@" || rc=$?
  [[ ${rc} -eq ${want} ]]
}

# Fresh clones of HEAD: the quick test in one, a learner's first check in
# another (each starts from nothing, as on a lab machine).
time_fresh() {
  local clone
  clone=$(mktemp -d)/workbook
  git clone --quiet "${ROOT}" "${clone}"
  time_command test-fresh 300 env -u WORKBOOK_LEARNER_DIR -u WORKBOOK_BUILD_DIR \
    "${clone}/workbook" test
  note "$(printf '%-12s %7s     (the fresh build tree, after the quick test)' tree-size \
    "$(du -sh "${clone}/build/default" 2>/dev/null | cut -f1)")"
  rm -rf -- "$(dirname -- "${clone}")"
  clone=$(mktemp -d)/workbook
  git clone --quiet "${ROOT}" "${clone}"
  # A learner's first check builds only what chapter 03 needs (its pitfall must fail).
  time_command first-check 120 env -u WORKBOOK_LEARNER_DIR -u WORKBOOK_BUILD_DIR \
    bash -c "'${clone}/workbook' start 03 && { '${clone}/workbook' check 03; [[ \$? -eq 1 ]]; }"
  rm -rf -- "$(dirname -- "${clone}")"
}

cmd_timings() {
  local fresh=0 record=0 arg
  for arg in "$@"; do
    case ${arg} in
      --fresh) fresh=1 ;;
      --record) record=1 ;;
      *) die 2 "unknown argument '${arg}' (see ./workbook timings --help)" ;;
    esac
  done
  ensure_dependencies
  mkdir -p build
  heading "how long the README's commands take (on $(nproc) cores)"
  # A first run makes the tree warm; the second is the one measured.
  ./workbook test >/dev/null 2>&1 </dev/null || true
  time_command test-warm 60 ./workbook test
  time_checks
  [[ ${fresh} -eq 0 ]] || time_fresh

  local i commit when over=()
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  when=$(utc_now)
  for i in "${!TIMING_NAMES[@]}"; do
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "${when}" "${commit}" "${TIMING_NAMES[i]}" \
      "${TIMING_SECONDS[i]}" "${TIMING_TARGETS[i]}" "$(nproc)" >>"${TIMINGS_LOG}"
    if [[ ${record} -eq 1 ]]; then
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "${when}" "${commit}" "${TIMING_NAMES[i]}" \
        "${TIMING_SECONDS[i]}" "${TIMING_TARGETS[i]}" "$(nproc)" >>"${TIMINGS_REFERENCE}"
    fi
    if [[ ${TIMING_RESULTS[i]} -ne 0 ]] ||
      awk -v s="${TIMING_SECONDS[i]}" -v t="${TIMING_TARGETS[i]}" 'BEGIN { exit !(s > t) }'; then
      over+=("${TIMING_NAMES[i]}")
    fi
  done
  note "recorded in ${TIMINGS_LOG}$([[ ${record} -eq 0 ]] || echo " and ${TIMINGS_REFERENCE}")"
  if [[ ${#over[@]} -gt 0 ]]; then
    printf '%s: over target or failed: %s\n' "$(verdict 1)" "$(join ', ' "${over[@]}")"
    return 1
  fi
  printf '%s: every command within its target\n' "$(verdict 0)"
}

help_timings() {
  cat <<EOF
usage: ./workbook timings [--fresh] [--record]

Measures how long the README's commands take and compares each with its
target: ./workbook test on a warm tree (60 s), ./workbook check after a
one-line edit, failing and passing (2 s each). --fresh also clones this
checkout and measures ./workbook test there (300 s) and the first check of
chapter 03 (120 s). Results are appended to build/timings.tsv; --record also
appends them to benchmarks/reference/tool-timings.tsv, the committed figures.
Exits 1 if a command failed or went over its target. Measure on a quiet
machine: anything else running makes every figure larger.
EOF
}
