# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# Checking the learner's copy
# ---------------------------------------------------------------------------
#
# A check builds chNN_test_learner, runs it, and says what happened, in this
# order of precedence: the copy did not compile (the first error, in the
# learner's file and line), the test crashed (the signal, and the frames of
# the learner's copy on the stack, from gdb), it hung (over the timeout, or
# ended by the test's watchdog: a deadlock, or a thread that kept running),
# it failed with the chapter's failure signature (the pitfall is still
# there), or it failed otherwise. Each test of the suite is listed as passed
# or failed. What failed is recorded in build/<preset>/checks/NN.tsv, for
# ./workbook hint (hints keyed to a test or a signature, see
# cmake/Workbook.cmake), and the test's whole output in checks/NN.log.

# The result of the last run_learner_check: CHECK_RESULT is passed, failed,
# compile (does not compile), timeout (hung), crash, missing (a file of the
# copy is gone) or unbuildable (the build tree could not be configured);
# CHECK_FAILURE the lines that explain a failure; CHECK_US how long it took in
# microseconds. CHECK_HASH is the hash of the copy that was built and tested
# (taken before the build read it), CHECK_CHANGED 1 if the copy changed while
# it was checked (then nothing is recorded: the result may be the other
# version's). A pass is recorded in progress.tsv: CHECK_RECORD_ERROR says why
# it could not be.
CHECK_RESULT="" CHECK_FAILURE="" CHECK_US=0 CHECK_HASH="" CHECK_CHANGED=0 CHECK_RECORD_ERROR=""
# For a failed check: how many of the suite's tests ran and how many failed.
CHECK_TESTS="" CHECK_FAILED_TESTS=""
# The suite's tests, one "state<TAB>Suite.Test" line each (state: ok, failed,
# skipped, crashed, hung, not-run); the signatures seen in the output (one a
# line); for a crash the signal's name, for a hang how it ended (timeout,
# watchdog, or busy: the watchdog saw a thread that kept running); where in
# the learner's copy ("file:line<TAB>function<TAB>source line" lines); for a
# compile error, the first error.
CHECK_RESULTS="" CHECK_SIGNATURES_SEEN="" CHECK_SIGNAL="" CHECK_HANG="" CHECK_WHERE=""
CHECK_FIRST_ERROR="" CHECK_OTHER_FRAMES=""

# What the watchdog (harness/src/watchdog.cpp) writes when it saw a thread
# keep running rather than wait: an endless loop, not a deadlock.
readonly WATCHDOG_BUSY_MARK="A thread kept running all the time"

# GoogleTest's failure messages from a test's output: from each "file:line:
# Failure" to the "[  FAILED  ] Suite.Test" line that closes it.
gtest_failures() {
  awk '/: Failure$/ { grab = 1 }
       /^\[  FAILED  \] / { if (grab) print; grab = 0; next }
       grab { print }'
}

# The tests of a GoogleTest output, in the order they ran: "state<TAB>name",
# state ok, failed, skipped, or running (started and never finished: the one
# a crash or a hang cut short).
gtest_results() {
  awk '
    function name_of(rest) { sub(/^ +/, "", rest); sub(/[ ,].*$/, "", rest); return rest }
    /^\[ RUN      \] / { n = name_of(substr($0, 14)); if (!(n in state)) order[++count] = n; state[n] = "running"; next }
    /^\[       OK \] / { n = name_of(substr($0, 14)); if (n in state) state[n] = "ok"; next }
    /^\[  SKIPPED \] / { n = name_of(substr($0, 14)); if (n in state) state[n] = "skipped"; next }
    /^\[  FAILED  \] / { n = name_of(substr($0, 14)); if (n in state && state[n] == "running") state[n] = "failed"; next }
    END { for (i = 1; i <= count; i++) printf "%s\t%s\n", state[order[i]], order[i] }'
}

# The names of a GoogleTest program's tests (--gtest_list_tests), one a line.
gtest_names() { # BINARY
  timeout 10 "$1" --gtest_list_tests 2>/dev/null | awk '
    /^[^ ]/ { suite = $1; next }
    /^  [^ ]/ { print suite $1 }' || true
}

# The program's output as the learner should read it: without GoogleTest's
# own progress lines, nor "Running main() from .../gtest_main.cc".
readable_output() {
  grep -vE '^Running main\(\) from |^\[(==========|----------| RUN      |       OK |  PASSED  |  SKIPPED )\]|^\[  FAILED  \] [0-9]+ tests?, listed below:|^ *[0-9]+ FAILED TESTS?$|^\[  FAILED  \] .*[^)]$' || true
}

# SIGSEGV and friends, in a few words a learner can act on.
signal_meaning() { # NAME (SEGV)
  case $1 in
    SEGV) printf '%s' "a segmentation fault: memory that is not yours was read or written (a null or dangling pointer or reference, an object used after it was destroyed)" ;;
    ABRT) printf '%s' "the program aborted: an exception nobody caught, a failed assertion, or memory freed twice" ;;
    BUS) printf '%s' "a bus error: a bad pointer" ;;
    FPE) printf '%s' "an arithmetic error (a division by zero)" ;;
    ILL) printf '%s' "an illegal instruction (often the end of a function that returns a value and has no return)" ;;
    KILL) printf '%s' "killed from outside (out of memory?)" ;;
    *) printf '%s' "ended by a signal" ;;
  esac
}

# gdb, batch mode, quiet, without the user's settings or network look-ups.
gdb_batch() {
  timeout 60 gdb -q -batch -nx -iex 'set debuginfod enabled off' -iex 'set auto-load off' \
    -ex 'set print frame-arguments none' -ex 'set print entry-values no' -ex 'set width 0' "$@" 2>&1
}

# From gdb's backtraces (on stdin), the frames in the learner's copy:
# "file:line<TAB>function<TAB>source line". With OTHERS=1, the first frames
# in the workbook's own sources instead (the test, the chapter's code).
learner_frames() { # OTHERS
  local others=$1 line file lineno function text seen=" " count=0
  while IFS= read -r line; do
    [[ ${line} =~ ^#[0-9]+\ +(0x[0-9a-f]+\ in\ )?(.*)\ at\ (/[^:]+):([0-9]+)$ ]] || continue
    function=${BASH_REMATCH[2]} file=${BASH_REMATCH[3]} lineno=${BASH_REMATCH[4]}
    function=${function%%(*}
    function=${function%"${function##*[! ]}"}
    ((${#function} <= 70)) || function="${function:0:67}..."
    if [[ ${others} -eq 0 ]]; then
      [[ ${file} == "${CH_WORK_DIR}/"* ]] || continue
    else
      [[ ${file} == "${ROOT}/"* ]] || continue
    fi
    [[ ${seen} != *" ${file}:${lineno} "* ]] || continue
    seen+="${file}:${lineno} "
    text=$(sed -n "${lineno}{s/^[[:space:]]*//;p;q}" -- "${file}" 2>/dev/null || true)
    printf '%s:%s\t%s\t%s\n' "$(show_path "${file}")" "${lineno}" "${function}" "${text}"
    count=$((count + 1))
    ((count < 4)) || break
  done
}

# Runs the test program with its output in OUTPUT, for at most SECONDS; sets RUN_RC (124 if it ran out of time) and, for a program that
# hung, RUN_STACKS: the backtraces of its threads, taken with gdb before it is
# ended (where it was stuck).
RUN_RC=0 RUN_STACKS=""
run_with_deadline() { # SECONDS OUTPUT BINARY ARGS...
  local seconds=$1 output=$2 pid timer finished="" rc=0
  shift 2
  RUN_RC=0 RUN_STACKS=""
  if ((BASH_VERSINFO[0] < 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] < 1))); then
    # No wait -n -p before bash 5.1: timeout(1), without the stacks of a hang.
    timeout -k 5 "${seconds}" stdbuf -oL -eL "$@" >"${output}" 2>&1 || RUN_RC=$?
    return 0
  fi
  # Line-buffered, so that a crash or a kill loses nothing that was printed.
  stdbuf -oL -eL "$@" >"${output}" 2>&1 &
  pid=$!
  sleep "${seconds}" &
  timer=$!
  # (bash would say "Segmentation fault" here, for a program that crashed: the
  # check says it better.)
  { wait -n -p finished "${pid}" "${timer}" || rc=$?; } 2>/dev/null
  if [[ ${finished} == "${pid}" ]]; then
    kill "${timer}" 2>/dev/null || true
    wait "${timer}" 2>/dev/null || true
    RUN_RC=${rc}
    return 0
  fi
  # Out of time: where is it?
  if command -v gdb >/dev/null 2>&1; then
    RUN_STACKS=$(gdb_batch -p "${pid}" -ex 'thread apply all bt' || true)
  fi
  kill -KILL "${pid}" 2>/dev/null || true
  { wait "${pid}" || true; } 2>/dev/null
  RUN_RC=124
}

# Reruns a test that crashed under gdb and fills CHECK_WHERE with the frames
# of the learner's copy on the stack (CHECK_OTHER_FRAMES with the workbook's
# own frames when none of them is the learner's).
locate_crash() { # BINARY TEST
  local binary=$1 test=$2 stacks=""
  command -v gdb >/dev/null 2>&1 || return 0
  if [[ -n ${test} ]]; then
    stacks=$(gdb_batch -ex run -ex bt --args "${binary}" --gtest_filter="${test}" --gtest_color=no || true)
  fi
  # A crash that needs the tests before it: the whole suite, as it ran.
  if [[ ${stacks} != *$'\n#0 '* ]]; then
    stacks=$(gdb_batch -ex run -ex bt --args "${binary}" --gtest_color=no || true)
  fi
  CHECK_WHERE=$(learner_frames 0 <<<"${stacks}")
  [[ -n ${CHECK_WHERE} ]] || CHECK_OTHER_FRAMES=$(learner_frames 1 <<<"${stacks}")
}

# A test that the watchdog ended while a thread kept running: runs it again
# alone under gdb, interrupts it at three quarters of the watchdog's budget
# (BUDGET_MS, from its report), before the watchdog ends it, and fills
# CHECK_WHERE with the frames of the learner's copy where its threads were.
locate_hang() { # BINARY TEST BUDGET_MS
  local binary=$1 test=$2 budget=$3 stacks gdb_pid pid inferior="" tries=0 exe
  command -v gdb >/dev/null 2>&1 && command -v pgrep >/dev/null 2>&1 || return 0
  [[ -n ${test} && ${budget} =~ ^[0-9]+$ ]] || return 0
  stacks=$(mktemp "${TMPDIR:-/tmp}/workbook-hang.XXXXXX") || return 0
  gdb_batch -ex run -ex 'thread apply all bt' \
    --args "${binary}" --gtest_filter="${test}" --gtest_color=no >"${stacks}" &
  gdb_pid=$!
  # gdb reads the debug information first: wait (at most 30 s) for the
  # program itself, the process with the test's name whose executable it is.
  exe=$(readlink -f -- "${binary}")
  while [[ -z ${inferior} ]] && ((tries < 600)) && kill -0 "${gdb_pid}" 2>/dev/null; do
    sleep 0.05
    tries=$((tries + 1))
    for pid in $(pgrep -f -- "--gtest_filter=${test}" || true); do
      if [[ $(readlink -f "/proc/${pid}/exe" 2>/dev/null) == "${exe}" ]]; then inferior=${pid}; fi
    done
  done
  if [[ -n ${inferior} ]]; then
    sleep "$((budget * 3 / 4000)).$((budget * 3 / 4 % 1000 / 100))"
    kill -INT "${inferior}" 2>/dev/null || true
  fi
  { wait "${gdb_pid}" || true; } 2>/dev/null
  CHECK_WHERE=$(learner_frames 0 <"${stacks}")
  rm -f -- "${stacks}"
}

# The first error of the compiler (or the linker) in the last build's log,
# located in the learner's copy when it is about it: "where<TAB>message".
first_build_error() {
  awk -v mine="${CH_WORK_DIR}/" '
    /^\[[0-9]+\/[0-9]+\] / || /^FAILED: / || /^ninja: / { next }
    index($0, mine) == 1 && match($0, /:[0-9]+(:[0-9]+)?[:,]/) { last_mine = substr($0, 1, RSTART + RLENGTH - 2) }
    / (fatal )?error: |undefined reference to / {
      where = $0; message = $0
      if (match($0, /^[^ :]+:[0-9]+(:[0-9]+)?: /)) { where = substr($0, 1, RLENGTH - 2); message = substr($0, RLENGTH + 1) }
      else where = ""
      if (index(where, mine) != 1 && last_mine != "") where = last_mine " (" where ")"
      printf "%s\t%s\n", where, message
      exit
    }' <<<"${BUILD_LOG_TEXT}"
}

# Writes what the last check found to build/<preset>/checks/NN.tsv: the
# result, the tests that failed, the signatures seen. ./workbook hint reads it.
check_record_file() { printf '%s/checks/%s.tsv' "${BUILD_DIR}" "${CH_ID}"; }
record_check() {
  # A copy that did not compile ran no test: the last run's record stays.
  case ${CHECK_RESULT} in passed | failed | timeout | crash) ;; *) return 0 ;; esac
  local file
  file=$(check_record_file)
  mkdir -p -- "${file%/*}" 2>/dev/null || return 0
  {
    printf 'result\t%s\n' "${CHECK_RESULT}"
    printf 'hash\t%s\n' "${CHECK_HASH}"
    if [[ -n ${CHECK_RESULTS} ]]; then
      awk -F'\t' '$1 != "ok" && $1 != "skipped" && $1 != "not-run" { print "failing\t" $2 }' <<<"${CHECK_RESULTS}"
    fi
    if [[ -n ${CHECK_SIGNATURES_SEEN} ]]; then
      sed 's/^/signature\t/' <<<"${CHECK_SIGNATURES_SEEN}"
    fi
  } 2>/dev/null >"${file}.tmp" && mv -f -- "${file}.tmp" "${file}" 2>/dev/null || true
}

# Records the pass of the content whose hash is CHECK_HASH (progress_update's FUNCTION).
record_pass() {
  progress_touch "${CH_ID}"
  P_PASS[${CH_ID}]=$(utc_now)
  P_HASH[${CH_ID}]=${CHECK_HASH}
}

# Records when the chapter was last checked (for the instructor's class
# report), and its pass when it passed (progress_update's FUNCTION).
record_checked() { # PASSED
  progress_touch "${CH_ID}"
  P_LAST_CHECK[${CH_ID}]=$(utc_now)
  [[ $1 -eq 0 ]] || record_pass
}

# build_with_progress TARGET...: build_targets (tools/workbook/setup.sh) with
# a progress line that also says how long it has taken and, from the steps
# done so far, about how long is left.
build_with_progress() {
  require_configured
  local rc=0 fd
  lock_build_tree
  fd=${LOCK_FD}
  BUILD_LOG="${BUILD_DIR}/workbook-build.log"
  # Ninja itself where it is the generator (all the presets): cmake --build
  # would only start it, a little later.
  if [[ -f "${BUILD_DIR}/build.ninja" ]] && command -v ninja >/dev/null 2>&1; then
    (cd -- "${BUILD_DIR}" && ninja "$@") 2>&1 | show_build_time_left "${BUILD_LOG}" || rc=$?
  else
    cmake --build "${BUILD_DIR}" --target "$@" 2>&1 | show_build_time_left "${BUILD_LOG}" || rc=$?
  fi
  BUILD_LOG_TEXT=$(cat -- "${BUILD_LOG}" 2>/dev/null || true)
  release_lock "${fd}"
  return "${rc}"
}

# "about 1 min 20 s" for a number of seconds.
rough_duration() { # SECONDS
  local s=$1
  if ((s < 60)); then
    printf '%d s' "${s}"
  else
    printf '%d min %02d s' $((s / 60)) $((s % 60))
  fi
}

# Reads Ninja's output ("[3/36] Building CXX object ..."), writes it to LOG,
# and shows the steps done, the time so far and an estimate of the time left
# (the average time of a step so far, times the steps left: the precompiled
# headers come first and are the slowest, so it errs long at first). On a
# terminal it is one line, rewritten; otherwise a line every 15 s. A build of
# a step or two (the check after an edit) shows nothing.
show_build_time_left() { # LOG
  local log=$1 line step total start now elapsed left text shown=0 last=0
  start=$(now_us)
  : >"${log}"
  while IFS= read -r line; do
    printf '%s\n' "${line}" >>"${log}"
    [[ ${line} =~ ^\[([0-9]+)/([0-9]+)\]\  ]] || continue
    step=${BASH_REMATCH[1]} total=${BASH_REMATCH[2]}
    now=$(now_us)
    elapsed=$(((now - start) / 1000000))
    ((total > 4 && elapsed >= 2)) || continue
    text="building: step ${step} of ${total}, $(rough_duration "${elapsed}") so far"
    if ((step >= 3 && step < total)); then
      left=$((elapsed * (total - step) / step))
      text+=", about $(rough_duration "${left}") left"
    fi
    if [[ -t 1 ]]; then
      printf '\r  %s\e[K' "${text}"
      shown=1
    elif ((elapsed - last >= 15 || step == total)); then
      printf '  %s\n' "${text}"
      last=${elapsed}
    fi
  done
  if [[ ${shown} -eq 1 ]]; then printf '\r\e[K'; fi
}

# Builds only the chapter's learner test (chNN_test_learner), runs it, and
# records a pass in progress.tsv. Another check of the same chapter in the
# same build tree waits: relinking the test while it runs fails ("Text file busy").
run_learner_check() {
  local start rc=0 binary="${BUILD_DIR}/ch${CH_ID}_test_learner" missing fd output log
  start=$(now_us)
  CHECK_FAILURE="" CHECK_HASH="" CHECK_CHANGED=0 CHECK_RECORD_ERROR=""
  CHECK_TESTS="" CHECK_FAILED_TESTS="" CHECK_RESULTS="" CHECK_SIGNATURES_SEEN="" CHECK_SIGNAL=""
  CHECK_HANG="" CHECK_WHERE="" CHECK_FIRST_ERROR="" CHECK_OTHER_FRAMES=""
  missing=$(learner_missing)
  if [[ -n ${missing} ]]; then
    CHECK_RESULT=missing
    CHECK_FAILURE=$(missing_repair "${missing}")
    CHECK_US=$(($(now_us) - start))
    return 0
  fi
  if [[ -n ${CONFIGURE_FAILED} ]]; then
    CHECK_RESULT=unbuildable
    CHECK_FAILURE=${CONFIGURE_FAILED}
    CHECK_US=$(($(now_us) - start))
    return 0
  fi
  take_lock "${BUILD_DIR}/.workbook-check-${CH_ID}.lock" \
    "another check of chapter ${CH_ID} is running in ${BUILD_DIR}; waiting for it to finish..."
  fd=${LOCK_FD}
  # The version checked is the one hashed here, before the build read it.
  CHECK_HASH=$(learner_hash)
  if ! build_with_progress "ch${CH_ID}_test_learner"; then
    CHECK_RESULT=compile
    CHECK_FIRST_ERROR=$(first_build_error)
    CHECK_FAILURE="your copy does not compile:"$'\n'"$(build_errors)"
  else
    mkdir -p -- "${BUILD_DIR}/checks"
    log="${BUILD_DIR}/checks/${CH_ID}.log"
    run_with_deadline "${CHECK_TIMEOUT}" "${log}" "${binary}" --gtest_color=no
    rc=${RUN_RC}
    output=$(cat -- "${log}")
    output=${output//"${ROOT}/"/}
    CHECK_RESULTS=$(gtest_results <<<"${output}")
    local signatures=() signature
    IFS=$'\x1f' read -r -a signatures <<<"${CH_SIGNATURE}"
    for signature in "${signatures[@]}"; do
      if [[ -n ${signature} && ${output} == *"${signature}"* ]]; then
        CHECK_SIGNATURES_SEEN+="${signature}"$'\n'
      fi
    done
    CHECK_SIGNATURES_SEEN=${CHECK_SIGNATURES_SEEN%$'\n'}
    if [[ ${rc} -eq 0 ]]; then
      CHECK_RESULT=passed
    elif [[ ${rc} -eq 124 ]]; then
      CHECK_RESULT=timeout CHECK_HANG=timeout
      CHECK_WHERE=$(learner_frames 0 <<<"${RUN_STACKS}")
      CHECK_FAILURE=$(readable_output <<<"${output}" | tail -n 15)
    elif [[ ${rc} -eq ${DEADLOCK_EXIT_CODE} && ${output} == *"${WATCHDOG_BUSY_MARK}"* ]]; then
      # The watchdog ended it, and a thread was running all along: not the
      # pitfall's deadlock, whatever the report's first line says.
      CHECK_RESULT=timeout CHECK_HANG=busy
      CHECK_FAILURE=$(readable_output <<<"${output}" | tail -n 15)
      locate_hang "${binary}" "$(awk -F'\t' '$1 == "running" { print $2 }' <<<"${CHECK_RESULTS}" | tail -n 1)" \
        "$(sed -nE 's/.* did not complete within ([0-9]+) ms of real time.*/\1/p' <<<"${output}" | head -n 1)"
    elif [[ ${rc} -eq ${DEADLOCK_EXIT_CODE} && -z ${CHECK_SIGNATURES_SEEN} ]]; then
      CHECK_RESULT=timeout CHECK_HANG=watchdog
      CHECK_FAILURE=$(readable_output <<<"${output}" | tail -n 15)
    elif [[ ${rc} -gt 128 ]]; then
      CHECK_RESULT=crash
      CHECK_SIGNAL=$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))
      local crashed
      crashed=$(awk -F'\t' '$1 == "running" { print $2 }' <<<"${CHECK_RESULTS}" | tail -n 1)
      locate_crash "${binary}" "${crashed}"
      CHECK_FAILURE="the test crashed (SIG${CHECK_SIGNAL}: $(signal_meaning "${CHECK_SIGNAL}"))"
      if [[ -n ${crashed} ]]; then CHECK_FAILURE+=" in ${crashed}"; fi
      local last
      last=$(readable_output <<<"${output}" | tail -n 15)
      if [[ -n ${last//[[:space:]]/} ]]; then
        CHECK_FAILURE+="; what it printed last:"$'\n'"${last}"
      fi
    else
      CHECK_RESULT=failed
      CHECK_FAILURE=$(gtest_failures <<<"${output}")
      # No GoogleTest failure: a report of the harness's (a watchdog's), or
      # the program's own last words.
      [[ -n ${CHECK_FAILURE} ]] || CHECK_FAILURE=$(readable_output <<<"${output}" | tail -n 20)
    fi
    # Tests that a crash or a hang cut short, and those never reached.
    if [[ ${CHECK_RESULT} == crash || ${CHECK_RESULT} == timeout || ${rc} -eq ${DEADLOCK_EXIT_CODE} ]]; then
      local cut=crashed name
      [[ ${CHECK_RESULT} == crash ]] || cut=hung
      CHECK_RESULTS=$(sed "s/^running\t/${cut}\t/" <<<"${CHECK_RESULTS}")
      while IFS= read -r name; do
        [[ -n ${name} ]] || continue
        grep -qxF -- "${name}" <(cut -f2 <<<"${CHECK_RESULTS}") || CHECK_RESULTS+=$'\n'"not-run	${name}"
      done < <(gtest_names "${binary}")
      CHECK_RESULTS=${CHECK_RESULTS#$'\n'}
    fi
    if [[ -n ${CHECK_RESULTS} ]]; then
      CHECK_TESTS=$(grep -c . <<<"${CHECK_RESULTS}")
      CHECK_FAILED_TESTS=$(grep -cvE '^(ok|skipped)'$'\t' <<<"${CHECK_RESULTS}" || true)
    fi
  fi
  release_lock "${fd}"
  [[ $(learner_hash) == "${CHECK_HASH}" ]] || CHECK_CHANGED=1
  record_check
  CHECK_US=$(($(now_us) - start))
  if [[ ${CHECK_RESULT} == passed && ${CHECK_CHANGED} -eq 0 ]]; then
    progress_update record_checked 1 || CHECK_RECORD_ERROR=${PROGRESS_WRITE_ERROR}
  else
    # Only the time of the check: a folder that cannot take it loses nothing else.
    progress_update record_checked 0 || true
  fi
  return 0
}

# Checks until the copy stays the same during a check (at most three times):
# a save during a check (normal under watch) makes its result the old version's.
check_steady() {
  local attempt
  for attempt in 1 2 3; do
    run_learner_check
    [[ ${CHECK_CHANGED} -eq 1 && ${attempt} -lt 3 ]] || return 0
    note "your copy changed during the check: checking the version you saved"
  done
}

# "hint: ./workbook hint NN (k of n)", or that every hint was shown.
hint_line() {
  local count shown next
  count=$(hint_count)
  shown=${P_HINTS[${CH_ID}]:-0}
  if [[ ${count} -eq 0 ]]; then
    note "the lesson explains it: ${CH_LESSON}"
    return
  fi
  load_hint_state
  next=$(choose_hint)
  if [[ ${next} == new:* ]]; then
    note "hint: ./workbook hint ${CH_ID} (${next#new:} of ${count}$(hint_about "${next#new:}"))"
  elif [[ ${shown} -lt ${count} ]]; then
    note "hint: every hint about what still fails was shown (./workbook hint ${CH_ID} repeats one);" \
      "the lesson: ${CH_LESSON}"
  else
    note "hint: all ${count} hints shown (./workbook hint ${CH_ID} repeats the last); the lesson: ${CH_LESSON}"
  fi
}

# The per-test list of the last check, indented: "ok  Suite.Test" lines.
print_test_list() {
  [[ -n ${CHECK_RESULTS} ]] || return 0
  local passed state name word
  passed=$(grep -c '^ok'$'\t' <<<"${CHECK_RESULTS}" || true)
  printf '  %d of %d tests pass:\n' "${passed}" "${CHECK_TESTS}"
  while IFS=$'\t' read -r state name; do
    case ${state} in
      ok) word="${GREEN}ok${RESET}     " ;;
      failed) word="${RED}FAILED${RESET} " ;;
      crashed) word="${RED}CRASHED${RESET}" ;;
      hung) word="${RED}HUNG${RESET}   " ;;
      skipped) word="skipped" ;;
      *) word="not run" ;;
    esac
    printf '    %s  %s\n' "${word}" "${name}"
  done <<<"${CHECK_RESULTS}"
  printf '\n'
}

# The frames of CHECK_WHERE (or CHECK_OTHER_FRAMES), as the learner reads them.
print_frames() { # FRAMES INTRO
  local where function text
  [[ -n $1 ]] || return 0
  printf '  %s\n' "$2"
  while IFS=$'\t' read -r where function text; do
    printf '    %s  in %s\n' "${where}" "${function}"
    [[ -z ${text} ]] || printf '        %s\n' "${text}"
  done <<<"$1"
  printf '\n'
}

# Runs the check and prints its verdict; returns 0 if it passed and its pass
# is recorded, 1 otherwise.
check_and_report() {
  heading "$(chapter_label): checking $(show_path "${CH_WORK_DIR}")"
  check_steady
  local seconds
  seconds=$(format_seconds "${CHECK_US}")
  if [[ ${CHECK_RESULT} == passed && ${CHECK_CHANGED} -eq 1 ]]; then
    printf '%s: the test passed, but your copy kept changing while it was checked (%s s):\n' \
      "$(verdict 1)" "${seconds}"
    note "  nothing is recorded; run ./workbook check ${CH_ID} again once you have saved"
    return 1
  fi
  if [[ ${CHECK_RESULT} == passed ]]; then
    printf '%s: %s is fixed: all %s of its tests pass against your copy (%s s)\n' "$(verdict 0)" \
      "$(chapter_label)" "${CHECK_TESTS:-the}" "${seconds}"
    if [[ -n ${CHECK_RECORD_ERROR} ]]; then
      error "but the pass is NOT recorded: ${CHECK_RECORD_ERROR}; ${WRITE_ADVICE}"
      return 1
    fi
    note "  recorded in $(show_path "${PROGRESS_FILE}")"
    note "  read next: \"The fix\" in ${CH_LESSON}; compare yours with ./workbook solution ${CH_ID}"
    local next here=${CH_INDEX}
    next=$(next_unfixed_chapter)
    if [[ -n ${next} ]]; then
      use_chapter "${next}"
      if is_started; then
        note "  next chapter: ./workbook check ${CH_ID} ($(chapter_label))"
      else
        note "  next chapter: ./workbook start ${CH_ID} ($(chapter_label))"
      fi
      use_chapter "${here}"
    fi
    return 0
  fi
  local which="the test fails against your copy" not_run=0
  if [[ -n ${CHECK_RESULTS} ]]; then not_run=$(grep -c '^not-run'$'\t' <<<"${CHECK_RESULTS}" || true); fi
  if [[ -n ${CHECK_FAILED_TESTS} && -n ${CHECK_TESTS} ]]; then
    which="$((CHECK_FAILED_TESTS - not_run)) of ${CHECK_TESTS} tests fail against your copy"
    ((not_run == 0)) || which+=" (${not_run} more did not run)"
  fi
  local hung_test
  hung_test=$(awk -F'\t' '$1 == "hung" || $1 == "crashed" { print $2 }' <<<"${CHECK_RESULTS}" | tail -n 1)
  case ${CHECK_RESULT} in
    compile) printf '%s: your copy did not compile (%s s)\n' "$(verdict 1)" "${seconds}" ;;
    missing) printf '%s: your copy of %s is incomplete\n' "$(verdict 1)" "$(chapter_label)" ;;
    unbuildable) printf '%s: nothing can be built\n' "$(verdict 1)" ;;
    timeout)
      case ${CHECK_HANG} in
        busy)
          printf '%s: your copy hung: the test'"'"'s watchdog stopped %s, and a thread was running all the time: an endless loop? (%s s)\n' \
            "$(verdict 1)" "${hung_test:-it}" "${seconds}"
          ;;
        watchdog)
          printf '%s: your copy hung: the test'"'"'s watchdog stopped %s: every thread was waiting, a deadlock (not the one of the pitfall) (%s s)\n' \
            "$(verdict 1)" "${hung_test:-it}" "${seconds}"
          ;;
        *)
          printf '%s: your copy hung: %s did not finish within %s s (WORKBOOK_CHECK_TIMEOUT): something waits forever (a deadlock) or loops forever\n' \
            "$(verdict 1)" "${hung_test:-its test}" "${CHECK_TIMEOUT}"
          ;;
      esac
      ;;
    crash)
      printf '%s: your copy crashed: SIG%s in %s (%s s)\n' "$(verdict 1)" "${CHECK_SIGNAL}" \
        "${hung_test:-its test}" "${seconds}"
      ;;
    *)
      # The pitfall's own failure, or another: a copy may fix the pitfall and
      # break a promise the test also checks.
      local signatures=() signature left=0
      IFS=$'\x1f' read -r -a signatures <<<"${CH_SIGNATURE}"
      if [[ -n ${CHECK_SIGNATURES_SEEN} ]]; then left=$(grep -c . <<<"${CHECK_SIGNATURES_SEEN}"); fi
      if ((${#signatures[@]} > 1 && left > 0)); then
        printf '%s: %d of the %d pitfalls are still there: %s (%s s)\n' "$(verdict 1)" \
          "${left}" "${#signatures[@]}" "${which}" "${seconds}"
        for signature in "${signatures[@]}"; do
          if grep -qxF -- "${signature}" <<<"${CHECK_SIGNATURES_SEEN}"; then
            printf '  still there: %s\n' "${signature}"
          else
            printf '  fixed:       %s\n' "${signature}"
          fi
        done
      elif ((left > 0)); then
        printf '%s: the pitfall is still there: %s (%s s)\n' "$(verdict 1)" "${which}" "${seconds}"
      else
        printf '%s: %s, but not with the pitfall'"'"'s failure: something else is wrong (%s s)\n' \
          "$(verdict 1)" "${which}" "${seconds}"
      fi
      ;;
  esac
  printf '\n'
  if [[ ${CHECK_RESULT} == compile ]]; then
    if [[ -n ${CHECK_FIRST_ERROR} ]]; then
      local where message
      IFS=$'\t' read -r where message <<<"${CHECK_FIRST_ERROR}"
      where=${where//"${ROOT}/"/}
      if [[ -n ${where} ]]; then printf '  the first error, at %s:\n' "${where}"; else printf '  the first error:\n'; fi
      printf '    %s\n\n' "${message}"
      note "  the compiler's messages:"
    fi
    printf '%s\n' "${CHECK_FAILURE}" | tail -n +2 | sed 's/^/  /'
  else
    print_test_list
    case ${CHECK_RESULT} in
      crash)
        if [[ -n ${CHECK_WHERE} ]]; then
          print_frames "${CHECK_WHERE}" "where it crashed, in your copy (innermost first):"
        elif [[ -n ${CHECK_OTHER_FRAMES} ]]; then
          print_frames "${CHECK_OTHER_FRAMES}" "no line of your copy was on the stack; where it crashed:"
        elif ! command -v gdb >/dev/null 2>&1; then
          note "  (install gdb to see the line of your copy where it crashed: apt-get install gdb)"
          printf '\n'
        fi
        ;;
      timeout)
        print_frames "${CHECK_WHERE}" "where it was when it was stopped, in your copy:"
        ;;
    esac
    local lines
    lines=$(grep -c '' <<<"${CHECK_FAILURE}")
    printf '%s\n' "${CHECK_FAILURE}" | head -n 40 | sed 's/^/  /'
    if ((lines > 40)) && [[ -f "${BUILD_DIR}/checks/${CH_ID}.log" ]]; then
      note "  ... ($((lines - 40)) more lines: the whole output is in $(show_path "$(realpath -m -- "${BUILD_DIR}/checks/${CH_ID}.log")"))"
    fi
  fi
  printf '\n'
  if [[ ${CHECK_RESULT} != missing && ${CHECK_RESULT} != unbuildable ]]; then
    load_progress
    hint_line
  fi
  return 1
}

# ---------------------------------------------------------------------------
# Hints that follow what still fails
# ---------------------------------------------------------------------------
#
# catalog/NN.hints holds a chapter's hints, one a line; catalog/NN.hint-keys
# what each is about (empty for a plain hint; else keys separated by the unit
# separator: a failure signature of the chapter, or a GoogleTest name where *
# matches any characters). The next hint is the first not shown yet whose key
# still fails in the last check (checks/NN.tsv), plain hints always counting
# as such; with no check recorded, or nothing that fails, the plain order.
# Which hints were shown is kept in my-work/.hints-shown.tsv ("NN<TAB>1 3"),
# next to the count in progress.tsv; without it, hints 1 to that count were.

hints_file() { printf '%s/catalog/%s.hints' "${BUILD_DIR}" "${CH_ID}"; }
hint_keys_file() { printf '%s/catalog/%s.hint-keys' "${BUILD_DIR}" "${CH_ID}"; }
hints_shown_file() { printf '%s/.hints-shown.tsv' "${LEARNER_DIR}"; }

hint_count() {
  if [[ -f $(hints_file) ]]; then wc -l <"$(hints_file)"; else echo 0; fi
}

# Loads HINT_KEYS (one entry per hint), HINT_FAILING (the last check's failing
# tests, a line each), HINT_SIGNATURES (its signatures seen), HINT_CHECKED (1
# if a failed check is recorded) and HINT_SHOWN (" 1 3 ": the hints shown).
HINT_KEYS=() HINT_FAILING="" HINT_SIGNATURES="" HINT_CHECKED=0 HINT_SHOWN=" "
load_hint_state() {
  HINT_KEYS=() HINT_FAILING="" HINT_SIGNATURES="" HINT_CHECKED=0 HINT_SHOWN=" "
  local count record kind value i
  count=$(hint_count)
  if [[ -f $(hint_keys_file) ]]; then mapfile -t HINT_KEYS <"$(hint_keys_file)"; fi
  record=$(check_record_file)
  if [[ -f ${record} ]]; then
    while IFS=$'\t' read -r kind value; do
      case ${kind} in
        result) [[ ${value} == passed ]] || HINT_CHECKED=1 ;;
        failing) HINT_FAILING+="${value}"$'\n' ;;
        signature) HINT_SIGNATURES+="${value}"$'\n' ;;
      esac
    done <"${record}"
  fi
  local line=""
  if [[ -f $(hints_shown_file) ]]; then
    line=$(awk -F'\t' -v id="${CH_ID}" '$1 == id { v = $2 } END { print v }' "$(hints_shown_file)" 2>/dev/null || true)
  fi
  local shown=${P_HINTS[${CH_ID}]:-0} listed=" " n=0
  for i in ${line}; do
    if [[ ${i} =~ ^[0-9]+$ ]] && ((i >= 1 && i <= count)) && [[ ${listed} != *" ${i} "* ]]; then
      listed+="${i} "
      n=$((n + 1))
    fi
  done
  # The list counts as long as it agrees with progress.tsv's count (which
  # an instructor may have set): otherwise hints 1 to that count were shown.
  if ((n == shown)); then
    HINT_SHOWN=${listed}
  else
    for ((i = 1; i <= shown && i <= count; i++)); do HINT_SHOWN+="${i} "; done
  fi
}

# Whether hint K (from 1) is about something that still fails.
hint_still_fails() { # K
  local keys=${HINT_KEYS[$1 - 1]:-} key name
  [[ -n ${keys} ]] || return 0
  local list=()
  IFS=$'\x1f' read -r -a list <<<"${keys}"
  for key in "${list[@]}"; do
    grep -qxF -- "${key}" <<<"${HINT_SIGNATURES}" && return 0
    while IFS= read -r name; do
      # shellcheck disable=SC2053 # the key is a pattern: * matches any characters
      [[ -n ${name} && ${name} == ${key} ]] && return 0
    done <<<"${HINT_FAILING}"
  done
  return 1
}

# The hint to show next: "new:K" (not shown yet), "again:K" (every hint about
# what fails was shown: the last of them again).
choose_hint() {
  local count k last_relevant=0
  count=$(hint_count)
  if [[ ${HINT_CHECKED} -eq 1 ]]; then
    for ((k = 1; k <= count; k++)); do
      hint_still_fails "${k}" || continue
      if [[ ${HINT_SHOWN} != *" ${k} "* ]]; then
        printf 'new:%d' "${k}"
        return
      fi
      last_relevant=${k}
    done
    if ((last_relevant > 0)); then
      printf 'again:%d' "${last_relevant}"
      return
    fi
  fi
  for ((k = 1; k <= count; k++)); do
    if [[ ${HINT_SHOWN} != *" ${k} "* ]]; then
      printf 'new:%d' "${k}"
      return
    fi
  done
  printf 'again:%d' "${count}"
}

# ", about Suite.Test" for a keyed hint: what it is about, briefly.
hint_about() { # K
  local keys=${HINT_KEYS[$1 - 1]:-}
  [[ -n ${keys} ]] || return 0
  local list=()
  IFS=$'\x1f' read -r -a list <<<"${keys}"
  printf ', about: %s' "${list[0]}"
  ((${#list[@]} == 1)) || printf ' (and %d more)' $((${#list[@]} - 1))
}

# Saves HINT_SHOWN for the chapter in my-work/.hints-shown.tsv (under the
# progress lock, by next_hint); a failure only loses which hints were shown.
save_hints_shown() {
  local file tmp
  file=$(hints_shown_file)
  tmp="${file}.tmp.$$"
  {
    if [[ -f ${file} ]]; then awk -F'\t' -v id="${CH_ID}" '$1 != id' "${file}"; fi
    printf '%s\t%s\n' "${CH_ID}" "$(xargs <<<"${HINT_SHOWN}")"
  } 2>/dev/null >"${tmp}" && mv -f -- "${tmp}" "${file}" 2>/dev/null || rm -f -- "${tmp}"
}
