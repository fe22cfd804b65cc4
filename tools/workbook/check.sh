# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# Checking the learner's copy
# ---------------------------------------------------------------------------

# The result of the last run_learner_check: CHECK_RESULT is passed, failed,
# compile (does not compile), timeout, crash, missing (a file of the copy is
# gone) or unbuildable (the build tree could not be configured); CHECK_FAILURE
# the lines that explain a failure; CHECK_US how long it took in microseconds.
# CHECK_HASH is the hash of the copy that was built and tested (taken before
# the build read it), CHECK_CHANGED 1 if the copy changed while it was
# checked (then nothing is recorded: the result may be the other version's).
# A pass is recorded in progress.tsv: CHECK_RECORD_ERROR says why it could not be.
CHECK_RESULT="" CHECK_FAILURE="" CHECK_US=0 CHECK_HASH="" CHECK_CHANGED=0 CHECK_RECORD_ERROR=""
# For a failed check: how many of the suite's tests ran and how many failed.
CHECK_TESTS="" CHECK_FAILED_TESTS=""

# GoogleTest's failure messages from a test's output: from each "file:line:
# Failure" to the "[  FAILED  ] Suite.Test" line that closes it.
gtest_failures() {
  awk '/: Failure$/ { grab = 1 }
       /^\[  FAILED  \] / { if (grab) print; grab = 0; next }
       grab { print }'
}

# Records the pass of the content whose hash is CHECK_HASH (progress_update's FUNCTION).
record_pass() {
  progress_touch "${CH_ID}"
  P_PASS[${CH_ID}]=$(utc_now)
  P_HASH[${CH_ID}]=${CHECK_HASH}
}

# Builds only the chapter's learner test (chNN_test_learner), runs it, and
# records a pass in progress.tsv. Another check of the same chapter in the
# same build tree waits: relinking the test while it runs fails ("Text file busy").
run_learner_check() {
  local start output rc=0 binary="${BUILD_DIR}/ch${CH_ID}_test_learner" missing fd crashed
  start=$(now_us)
  CHECK_FAILURE="" CHECK_HASH="" CHECK_CHANGED=0 CHECK_RECORD_ERROR=""
  CHECK_TESTS="" CHECK_FAILED_TESTS=""
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
  # The version checked is the one hashed here, before the build reads it.
  CHECK_HASH=$(learner_hash)
  if ! build_targets "ch${CH_ID}_test_learner"; then
    CHECK_RESULT=compile
    CHECK_FAILURE="your copy does not compile:"$'\n'"$(build_errors)"
  else
    output=$(timeout "${CHECK_TIMEOUT}" "${binary}" --gtest_brief=1 --gtest_color=no 2>&1) || rc=$?
    output=${output//"${ROOT}/"/}
    if [[ ${rc} -eq 0 ]]; then
      CHECK_RESULT=passed
    elif [[ ${rc} -eq 124 ]]; then
      CHECK_RESULT=timeout
      CHECK_FAILURE="the test did not finish within ${CHECK_TIMEOUT} s: something waits forever (a deadlock?)"
    elif [[ ${rc} -gt 128 ]]; then
      CHECK_RESULT=crash
      CHECK_FAILURE="the test crashed (SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128))))"
      # The brief output names only failed tests, and a crash cuts a test
      # short before it is reported: run again in full to name the one that
      # was running (a crash in the learner's code usually repeats).
      crashed=$(timeout "${CHECK_TIMEOUT}" "${binary}" --gtest_color=no 2>&1 |
        grep -F '[ RUN      ]' | tail -n 1 | sed 's/^\[ RUN      \] //') || true
      if [[ -n ${crashed} ]]; then CHECK_FAILURE+=" in ${crashed}"; fi
      if [[ -n ${output//[[:space:]]/} ]]; then
        CHECK_FAILURE+="; its last lines:"$'\n'"$(tail -n 15 <<<"${output}")"
      else
        CHECK_FAILURE+=", before it printed anything. To see where: ${binary#"${ROOT}/"} --gtest_filter='${crashed:-*}' (or run it under gdb)"
      fi
    else
      CHECK_RESULT=failed
      CHECK_TESTS=$(sed -nE 's/^\[==========\] ([0-9]+) tests? from .* ran.*/\1/p' <<<"${output}" | tail -n 1)
      local passed skipped
      passed=$(sed -nE 's/^\[  PASSED  \] ([0-9]+) tests?\..*/\1/p' <<<"${output}" | tail -n 1)
      skipped=$(sed -nE 's/^\[  SKIPPED \] ([0-9]+) tests?.*/\1/p' <<<"${output}" | tail -n 1)
      if [[ -n ${CHECK_TESTS} && -n ${passed} ]]; then
        CHECK_FAILED_TESTS=$((CHECK_TESTS - passed - ${skipped:-0}))
      fi
      CHECK_FAILURE=$(gtest_failures <<<"${output}")
      [[ -n ${CHECK_FAILURE} ]] || CHECK_FAILURE=$(tail -n 20 <<<"${output}")
    fi
  fi
  release_lock "${fd}"
  [[ $(learner_hash) == "${CHECK_HASH}" ]] || CHECK_CHANGED=1
  CHECK_US=$(($(now_us) - start))
  if [[ ${CHECK_RESULT} == passed && ${CHECK_CHANGED} -eq 0 ]]; then
    progress_update record_pass || CHECK_RECORD_ERROR=${PROGRESS_WRITE_ERROR}
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
  local count shown
  count=$(hint_count)
  shown=${P_HINTS[${CH_ID}]:-0}
  if [[ ${count} -eq 0 ]]; then
    note "the lesson explains it: ${CH_LESSON}"
  elif [[ ${shown} -lt ${count} ]]; then
    note "hint: ./workbook hint ${CH_ID} ($((shown + 1)) of ${count})"
  else
    note "hint: all ${count} hints shown (./workbook hint ${CH_ID} repeats the last); the lesson: ${CH_LESSON}"
  fi
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
    printf '%s: %s is fixed: its test passes against your copy (%s s)\n' "$(verdict 0)" \
      "$(chapter_label)" "${seconds}"
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
  case ${CHECK_RESULT} in
    compile) printf '%s: your copy does not compile (%s s)\n' "$(verdict 1)" "${seconds}" ;;
    missing) printf '%s: your copy of %s is incomplete\n' "$(verdict 1)" "$(chapter_label)" ;;
    unbuildable) printf '%s: nothing can be built\n' "$(verdict 1)" ;;
    timeout) printf '%s: your copy hangs: its test did not finish within %s s\n' "$(verdict 1)" \
      "${CHECK_TIMEOUT}" ;;
    crash) printf '%s: your copy crashed its test (%s s)\n' "$(verdict 1)" "${seconds}" ;;
    *)
      # The pitfall's own failure, or another: a copy may fix the pitfall and
      # break a promise the test also checks.
      local which="the test fails against your copy"
      if [[ -n ${CHECK_FAILED_TESTS} && -n ${CHECK_TESTS} ]]; then
        which="${CHECK_FAILED_TESTS} of ${CHECK_TESTS} tests fail against your copy"
      fi
      # A chapter whose pitfall combines several mistakes has several signatures
      # (the catalog's "signatures", joined by the unit separator): count those left.
      local signatures=() signature left=0
      IFS=$'\x1f' read -r -a signatures <<<"${CH_SIGNATURE}"
      for signature in "${signatures[@]}"; do
        [[ -n ${signature} && ${CHECK_FAILURE} == *"${signature}"* ]] && left=$((left + 1))
      done
      if ((${#signatures[@]} > 1 && left > 0)); then
        printf '%s: %d of the %d pitfalls are still there: %s (%s s)\n' "$(verdict 1)" \
          "${left}" "${#signatures[@]}" "${which}" "${seconds}"
        for signature in "${signatures[@]}"; do
          if [[ ${CHECK_FAILURE} == *"${signature}"* ]]; then
            printf '  still there: %s\n' "${signature}"
          else
            printf '  fixed:       %s\n' "${signature}"
          fi
        done
      elif ((left > 0)); then
        printf '%s: the pitfall is still there: %s (%s s)\n' "$(verdict 1)" "${which}" "${seconds}"
      else
        printf '%s: %s, though not with the pitfall'"'"'s own failure (%s s)\n' "$(verdict 1)" \
          "${which}" "${seconds}"
      fi
      ;;
  esac
  printf '\n'
  if [[ ${CHECK_RESULT} == compile ]]; then
    printf '%s\n' "${CHECK_FAILURE}" | tail -n +2 | sed 's/^/  /'
  else
    printf '%s\n' "${CHECK_FAILURE}" | sed 's/^/  /'
  fi
  printf '\n'
  if [[ ${CHECK_RESULT} != missing && ${CHECK_RESULT} != unbuildable ]]; then
    load_progress
    hint_line
  fi
  return 1
}

hints_file() { printf '%s/catalog/%s.hints' "${BUILD_DIR}" "${CH_ID}"; }

hint_count() {
  if [[ -f $(hints_file) ]]; then wc -l <"$(hints_file)"; else echo 0; fi
}
