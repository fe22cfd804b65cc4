# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# Flakiness meter
# ---------------------------------------------------------------------------

# Pass counts per test, filled by the meter: FLAKY_RUNS[name], FLAKY_PASSES[name];
# FLAKY_WHY[name] is how its first three failing runs failed (a crash, a hang,
# an odd exit code, or the test's own first lines of failure), FLAKY_FAILED[name]
# how many runs failed.
declare -A FLAKY_RUNS=() FLAKY_PASSES=() FLAKY_WHY=() FLAKY_FAILED=()
FLAKY_ORDER=()
# How long one run of one test program may take before it counts as hanging.
readonly FLAKY_TIMEOUT="${WORKBOOK_FLAKY_TIMEOUT:-60}"
# How many runs of one program at a time: the cores, at most 4.
FLAKY_JOBS=$(nproc 2>/dev/null || echo 2)
((FLAKY_JOBS <= 4)) || FLAKY_JOBS=4
readonly FLAKY_JOBS

flaky_record() { # NAME PASSED(0/1)
  local name=$1
  if [[ -z ${FLAKY_RUNS[${name}]:-} ]]; then
    FLAKY_ORDER+=("${name}")
    FLAKY_RUNS[${name}]=0 FLAKY_PASSES[${name}]=0
  fi
  FLAKY_RUNS[${name}]=$((FLAKY_RUNS[${name}] + 1))
  FLAKY_PASSES[${name}]=$((FLAKY_PASSES[${name}] + $2))
}

# The first lines of a failure, from a test's output on standard input: what a
# flaky run said, so that a CI log shows why without a rerun. Indented, at most
# FLAKY_WHY_LINES lines of at most 300 characters.
readonly FLAKY_WHY_LINES=4
# (Bash's own report of a crashed run, which quotes the command, is left out.)
# shellcheck disable=SC2016 # the command as bash quotes it, unexpanded
flaky_excerpt() {
  grep -v -e '^[[:space:]]*$' -e '^\[' -e '^Running main() from ' -e '^Note: ' \
    -e 'timeout -k 5 "${FLAKY_TIMEOUT}"' | head -n "${FLAKY_WHY_LINES}" | cut -c 1-300 | sed 's/^/      /'
}

# Records a failed run of NAME, and why: one line, then what the test printed
# (its first lines of failure), kept for the first three failed runs.
flaky_failed() { # NAME WHY [PRINTED]
  flaky_record "$1" 0
  FLAKY_FAILED[$1]=$((${FLAKY_FAILED[$1]:-0} + 1))
  if [[ ${FLAKY_FAILED[$1]} -le 3 ]]; then
    FLAKY_WHY[$1]+="${FLAKY_WHY[$1]:+$'\n'}$2${3:+$'\n'$3}"
  fi
}

# How a program run under `timeout` ended, in words, from its exit code.
exit_words() { # RC
  local rc=$1
  if [[ ${rc} -eq 124 ]]; then
    printf 'did not finish within %s s (a hang? WORKBOOK_FLAKY_TIMEOUT sets the limit)' "${FLAKY_TIMEOUT}"
  elif [[ ${rc} -eq 137 ]]; then
    printf 'was killed (SIGKILL: it ignored the SIGTERM sent after %s s, or ran out of memory)' \
      "${FLAKY_TIMEOUT}"
  elif [[ ${rc} -gt 128 ]]; then
    printf 'crashed (SIG%s)' "$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
  else
    printf 'exited with code %d' "${rc}"
  fi
}

# Runs "FUNCTION DIR RUN ARGS..." for RUN = 1 .. REPEAT, FLAKY_JOBS at a time,
# each with its output in DIR/RUN.out and its exit status in DIR/RUN.rc.
flaky_batches() { # DIR REPEAT FUNCTION [ARGS...]
  local dir=$1 repeat=$2 function=$3 run first last
  shift 3
  for ((first = 1; first <= repeat; first += FLAKY_JOBS)); do
    last=$((first + FLAKY_JOBS - 1 < repeat ? first + FLAKY_JOBS - 1 : repeat))
    for ((run = first; run <= last; run++)); do
      (
        rc=0
        "${function}" "${dir}" "${run}" "$@" >"${dir}/${run}.out" 2>&1 || rc=$?
        printf '%s' "${rc}" >"${dir}/${run}.rc"
      ) 2>/dev/null & # (bash's own "Segmentation fault" line: the meter says it in its words)
    done
    wait
  done
}

# One run of a GoogleTest binary, shuffled with the seed kept in DIR/RUN.seed.
flaky_gtest_run() { # DIR RUN BINARY [ARGS...]
  local seed binary=$3
  seed=$(<"$1/$2.seed")
  shift 3
  timeout -k 5 "${FLAKY_TIMEOUT}" "${binary}" --gtest_shuffle --gtest_random_seed="${seed}" \
    --gtest_color=no "$@"
}

# One pitfall check, as ctest runs it (a suite spinning until the test stops
# it takes seconds a run, hence the batches).
flaky_pitfall_run() { # DIR RUN NAME BINARY SIGNATURE
  timeout -k 5 "${FLAKY_TIMEOUT}" cmake -DBINARY="$4" -DCHAPTER="$3" -DSIGNATURE="$5" \
    -P cmake/ExpectFailure.cmake
}

# Runs a GoogleTest binary REPEAT times, each run a fresh process in its own
# shuffled order under a timeout (FLAKY_JOBS runs at a time, so that fresh
# processes cost no more time than one process repeating), and records each
# test case's result. A run that ends abnormally (a crash, a hang, an exit
# code GoogleTest does not give) is a failure of the test it was in (or of the
# program, outside any test), named with its cause and the command that
# repeats that order; the other runs still happen. Extra arguments go to the
# binary; LABEL prefixes names.
flaky_gtest() { # LABEL BINARY REPEAT [ARGS...]
  local label=$1 binary=$2 repeat=$3 run rc line running results name seed why again
  shift 3
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/workbook-flaky.XXXXXX") || die 1 "cannot make a temporary folder"
  for ((run = 1; run <= repeat; run++)); do
    printf '%s' "$((RANDOM % 99999 + 1))" >"${dir}/${run}.seed"
  done
  flaky_batches "${dir}" "${repeat}" flaky_gtest_run "${binary}" "$@"
  for ((run = 1; run <= repeat; run++)); do
    rc=$(<"${dir}/${run}.rc") seed=$(<"${dir}/${run}.seed")
    running="" results=0 said=""
    again="to repeat it: ${binary} --gtest_shuffle --gtest_random_seed=${seed}${*:+ $*}"
    # "[ RUN      ] Suite.Test" opens a test; "[       OK ] Suite.Test (12 ms)" or
    # "[  FAILED  ] Suite.Test (3 ms)" closes it (the summary's lines have no timing).
    # What a test printed between the two is kept, to say why it failed.
    while IFS= read -r line; do
      case ${line} in
        "[ RUN      ] "*) running=${line#"[ RUN      ] "} said="" ;;
        "[       OK ] "* | "[  FAILED  ] "*)
          [[ ${line} =~ ^\[\ +(OK|FAILED)\ +\]\ ([^ ]+)\ \([0-9]+\ ms\)$ ]] || continue
          name="${label}:${BASH_REMATCH[2]}"
          if [[ ${BASH_REMATCH[1]} == OK ]]; then
            flaky_record "${name}" 1
          else
            flaky_failed "${name}" "run ${run} of ${repeat} failed; ${again}" "$(flaky_excerpt <<<"${said}")"
          fi
          running="" said="" results=$((results + 1))
          ;;
        *) [[ -z ${running} ]] || said+="${line}"$'\n' ;;
      esac
    done <"${dir}/${run}.out"
    # GoogleTest exits 0 when every test passed and 1 when one failed.
    if [[ ${rc} -eq 0 || (${rc} -eq 1 && ${results} -gt 0 && -z ${running}) ]]; then continue; fi
    why="run ${run} of ${repeat} $(exit_words "${rc}")"
    if [[ -n ${running} ]]; then
      flaky_failed "${label}:${running}" "${why} in this test; ${again}" "$(flaky_excerpt <<<"${said}")"
    else
      flaky_failed "${label}:(the program)" "${why} outside any test; ${again}"
    fi
  done
  rm -rf -- "${dir}"
}

# Whether a GoogleTest binary has tests matching FILTER.
gtest_has_tests() { # BINARY FILTER
  timeout -k 5 "${FLAKY_TIMEOUT}" "$1" --gtest_list_tests --gtest_filter="$2" 2>/dev/null | grep -q '^  '
}

# Runs a pitfall check REPEAT times: each run passes if the pitfall's test fails
# with the chapter's signature, as in ctest, within the timeout.
flaky_pitfall() { # NAME BINARY SIGNATURE REPEAT
  local name=$1 binary=$2 signature=$3 repeat=$4 run rc output reason dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/workbook-flaky.XXXXXX") || die 1 "cannot make a temporary folder"
  flaky_batches "${dir}" "${repeat}" flaky_pitfall_run "${name}" "${binary}" "${signature}"
  for ((run = 1; run <= repeat; run++)); do
    rc=$(<"${dir}/${run}.rc") output=$(<"${dir}/${run}.out")
    if [[ ${rc} -eq 0 ]]; then
      flaky_record "${name}" 1
    elif [[ ${rc} -eq 124 || ${rc} -eq 137 ]]; then
      flaky_failed "${name}" "run ${run} of ${repeat} $(exit_words "${rc}")"
    else
      # ExpectFailure.cmake says why: "chapter NN-slug/pitfall: the test passed ...",
      # then the test's output, whose first lines of failure say what it saw instead.
      reason=$(grep -m 1 -F "chapter ${name}:" <<<"${output}" | sed 's/^ *//' || true)
      flaky_failed "${name}" "run ${run} of ${repeat}: ${reason:-$(exit_words "${rc}")}" "$(
        sed -n '/^--- test output ---$/,$p' <<<"${output}" | sed 1d | flaky_excerpt)"
    fi
  done
  rm -rf "${dir}"
}

# The meter: every GoogleTest binary REPEAT times (shuffled), the suites named
# *Threads* again with 1, 2 and 4 event-loop threads, and every pitfall check
# REPEAT times. A test that passes 19 times in 20 is a failing test.
run_flakiness_meter() { # REPEAT
  local repeat=$1 kind name binary signature threads
  local list="${BUILD_DIR}/flaky.tsv"
  [[ -f ${list} ]] || die 1 "${list} is missing: configure and build first"
  FLAKY_RUNS=() FLAKY_PASSES=() FLAKY_WHY=() FLAKY_FAILED=() FLAKY_ORDER=()
  while IFS=$'\t' read -r kind name binary signature; do
    [[ -n ${kind} ]] || continue
    note "  ${name} (${repeat}x)"
    case ${kind} in
      gtest)
        if [[ ! -x ${binary} ]]; then
          flaky_failed "${name}:(the program)" "${binary} is missing: the build did not produce it"
          continue
        fi
        flaky_gtest "${name}" "${binary}" "${repeat}"
        if gtest_has_tests "${binary}" '*Threads*'; then
          for threads in 1 2 4; do
            WORKBOOK_LOOP_THREADS=${threads} flaky_gtest "${name}@${threads}threads" "${binary}" \
              "${repeat}" --gtest_filter='*Threads*'
          done
        fi
        ;;
      pitfall) flaky_pitfall "${name}" "${binary}" "${signature}" "${repeat}" ;;
    esac
  done <"${list}"

  local failing=0
  printf '\n'
  heading "$(printf '%-72s %6s %6s' test runs passed)"
  for name in "${FLAKY_ORDER[@]}"; do
    if [[ ${FLAKY_PASSES[${name}]} -ne ${FLAKY_RUNS[${name}]} ]]; then
      failing=$((failing + 1))
      printf '%s%-72s %6s %6s  flaky%s\n' "${RED}" "${name}" "${FLAKY_RUNS[${name}]}" \
        "${FLAKY_PASSES[${name}]}" "${RESET}"
    elif [[ -n ${FLAKY_VERBOSE:-} ]]; then
      printf '%-72s %6s %6s\n' "${name}" "${FLAKY_RUNS[${name}]}" "${FLAKY_PASSES[${name}]}"
    fi
  done
  local why
  for name in "${FLAKY_ORDER[@]}"; do
    [[ -n ${FLAKY_WHY[${name}]:-} ]] || continue
    printf '\n%s%s: %d run(s) failed%s\n' "${RED}" "${name}" "${FLAKY_FAILED[${name}]}" \
      "$([[ ${FLAKY_FAILED[${name}]} -le 3 ]] || echo ', the first three:')${RESET}"
    while IFS= read -r why; do printf '  %s\n' "${why}"; done <<<"${FLAKY_WHY[${name}]}"
  done
  note "${#FLAKY_ORDER[@]} tests measured, ${failing} not passing every time" \
    "(./workbook flaky --verbose lists them all)"
  [[ ${failing} -eq 0 ]]
}

cmd_flaky() {
  local repeat=20
  while [[ $# -gt 0 ]]; do
    case $1 in
      --repeat)
        [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die 2 "--repeat takes a positive whole number"
        repeat=$2
        shift 2
        ;;
      --verbose) FLAKY_VERBOSE=1 && shift ;;
      *) die 2 "unknown argument '$1' (see ./workbook flaky --help)" ;;
    esac
  done
  ensure_dependencies
  ensure_built
  heading "flakiness meter: every test ${repeat} times"
  run_flakiness_meter "${repeat}" || exit 1
}

help_flaky() {
  cat <<EOF
usage: ./workbook flaky [--repeat N] [--verbose]

Runs every test many times and prints the ones that did not pass every time:
each GoogleTest binary N times (default 20), each run a fresh process with
its own shuffled order, the suites named *Threads* again with 1, 2 and 4
event-loop threads, and each chapter's pitfall check N times (it must fail
with its signature every time). A test that passes 19 times in 20 is a
failing test. A run that crashes, hangs (past WORKBOOK_FLAKY_TIMEOUT seconds,
default 60) or exits oddly counts as a failure of the test it was in, and is
named with its cause and the command that repeats it. --verbose lists every
test's pass count.
EOF
}
