# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# Working through the book: list, start, check, hint, watch, reset, run, solution
# ---------------------------------------------------------------------------

cmd_list() {
  parse_args list "" "$@"
  no_chapter_arg list
  ensure_configured
  load_progress

  local i width=0 fixed=0 state
  for i in "${!CHAPTER_TITLES[@]}"; do
    ((${#CHAPTER_TITLES[i]} > width)) && width=${#CHAPTER_TITLES[i]}
  done
  heading "Async patterns workbook: your progress ($(show_path "${LEARNER_DIR}"))"
  printf '\n'
  for i in "${!CHAPTER_IDS[@]}"; do
    use_chapter "${i}"
    state=$(chapter_state)
    [[ ${state} == fixed ]] && fixed=$((fixed + 1))
    printf '  %s  %-*s  %s\n' "${CH_ID}" "${width}" "${CH_TITLE}" "$(state_words "${state}")"
  done
  printf '\n%s %d of %d chapters fixed\n' "$(progress_bar "${fixed}" "${#CHAPTER_IDS[@]}")" \
    "${fixed}" "${#CHAPTER_IDS[@]}"
  suggest_next
}

help_list() {
  cat <<EOF
usage: ./workbook list        (or just ./workbook)

Lists every chapter with its title and your status:
  not started             ./workbook start NN has not made your copy yet
  pitfall still present   you started it, and its test has not passed yet (or
                          you changed your copy since it passed)
  fixed                   its test passed against your copy, unchanged since
then a progress bar and the command to run next.
EOF
}

# progress_update's FUNCTION for start: the chapter's start time.
mark_started() {
  progress_touch "${CH_ID}"
  P_STARTED[${CH_ID}]=$(utc_now)
}

cmd_start() {
  parse_args start "" "$@"
  require_chapter_arg start
  ensure_configured
  select_chapter "${ARG_CHAPTER}"
  local file out missing
  if is_started; then
    note "$(chapter_label) is already started: your copy in $(show_path "${CH_WORK_DIR}") is kept as it is."
    missing=$(learner_missing)
    if [[ -n ${missing} ]]; then
      error "$(missing_repair "${missing}")"
    fi
    note "(to start over from the broken code: ./workbook reset ${CH_ID})"
  else
    if ! out=$(mkdir -p -- "${CH_WORK_DIR}" 2>&1); then
      die 1 "$(chapter_label) is not started: cannot make $(show_path "${CH_WORK_DIR}"):" \
        "$(failure_reason "${out}"); ${WRITE_ADVICE}"
    fi
    for file in "${CH_FILES[@]}"; do
      if ! out=$(cp -- "chapters/${CH_NAME}/${file}" "${CH_WORK_DIR}/${file}" 2>&1); then
        # The folder was made just now and holds nothing of the learner's.
        rm -rf -- "${CH_WORK_DIR}"
        die 1 "$(chapter_label) is not started: cannot copy ${file} to $(show_path "${CH_WORK_DIR}"):" \
          "$(failure_reason "${out}"); ${WRITE_ADVICE}"
      fi
    done
    if ! progress_update mark_started; then
      die 1 "your copy is in $(show_path "${CH_WORK_DIR}"), but its start is not recorded:" \
        "${PROGRESS_WRITE_ERROR}; ${WRITE_ADVICE}"
    fi
    configure_or_explain # adds the chNN_*_learner targets
    note "$(chapter_label): your copy of the broken code is ready."
  fi
  printf '\n'
  for file in "${CH_FILES[@]}"; do
    note "  edit    $(show_path "${CH_WORK_DIR}")/${file}"
  done
  note "  read    ${CH_LESSON}"
  note "  check   ./workbook check ${CH_ID}   (or ./workbook watch ${CH_ID} to check on every save)"
}

help_start() {
  cat <<EOF
usage: ./workbook start NN

Copies chapter NN's broken code (the exercise files named in the catalog) from
chapters/NN-slug/ to your own copy, my-work/NN-slug/ (WORKBOOK_LEARNER_DIR moves
it), and prints which file to edit and which lesson to read. chapters/ stays
as it is: ./workbook test keeps checking that the pitfall is still broken there.
Starting a chapter you already started keeps your copy; ./workbook reset NN
puts the broken code back.
EOF
}

cmd_check() {
  parse_args check "" "$@"
  require_chapter_arg check
  # The packages are looked for when the tree is configured (the first
  # check): a check after an edit goes straight to the build.
  ensure_configured
  select_chapter "${ARG_CHAPTER}"
  require_started
  check_and_report || exit 1
}

help_check() {
  cat <<EOF
usage: ./workbook check NN

Builds chapter NN's test against your copy (only that chapter's targets, so a
check after an edit takes seconds) and runs it. The first line says what
happened, and each of the chapter's tests is listed as passed or failed:
  passes          records it in my-work/progress.tsv and says what to read next
  pitfall         the test fails with the chapter's failure (its signature):
                  the failure message, and which hint comes next (./workbook hint NN)
  other failure   the tests fail, but not with the pitfall's failure: read the messages
  did not compile the compiler's first error, at the line of your file
  crashed         the signal, the test it crashed in, and the lines of your
                  file that were running (a backtrace taken with gdb)
  hung            a test did not finish within WORKBOOK_CHECK_TIMEOUT seconds
                  (60), or its watchdog stopped it: a deadlock, or a loop that
                  never ends; and where it was in your file
The test's whole output is kept in build/<preset>/checks/NN.log.
The pass is recorded for the version of your copy that was built and tested:
if you save while the check runs, it checks the saved version again. A second
check of the same chapter (another terminal, a watch) waits for the first.
Exits 0 if the test passes and its pass is recorded; 1 if it fails, your copy
does not compile or misses a file, or the pass could not be recorded.
EOF
}

# progress_update's FUNCTION for hint: chooses the next hint (choose_hint in
# check.sh), marks it shown, and sets HINT_K to it.
HINT_K=0
next_hint() {
  progress_touch "${CH_ID}"
  load_hint_state
  local choice shown=()
  choice=$(choose_hint)
  HINT_K=${choice#*:}
  [[ ${HINT_SHOWN} == *" ${HINT_K} "* ]] || HINT_SHOWN+="${HINT_K} "
  # The count in progress.tsv: how many different hints were shown.
  read -r -a shown <<<"${HINT_SHOWN}"
  P_HINTS[${CH_ID}]=${#shown[@]}
  save_hints_shown
}

cmd_hint() {
  parse_args hint "" "$@"
  require_chapter_arg hint
  ensure_configured
  select_chapter "${ARG_CHAPTER}"
  local hints=() count k
  if [[ -f $(hints_file) ]]; then mapfile -t hints <"$(hints_file)"; fi
  count=${#hints[@]}
  [[ ${count} -gt 0 ]] || die 1 "$(chapter_label) has no hints in the catalog; the lesson: ${CH_LESSON}"
  local counted=1
  # Read, counted and written as one step: two hints at once show two hints.
  if ! progress_update next_hint; then
    counted=0
    read_progress
    next_hint
  fi
  k=${HINT_K}

  heading "hint ${k} of ${count} · $(chapter_label)"
  if [[ -n ${HINT_KEYS[k - 1]:-} && ${HINT_CHECKED} -eq 1 ]]; then
    note "(your last check still fails here$(hint_about "${k}"))"
  fi
  printf '\n'
  printf '%s\n' "${hints[k - 1]}" | fold -s -w 76 | sed 's/ *$//; s/^/  /'
  printf '\n'
  local after
  after=$(choose_hint)
  if [[ ${after} == new:* ]]; then
    note "another: ./workbook hint ${CH_ID} (${after#new:} of ${count}$(hint_about "${after#new:}"))"
  elif [[ ${HINT_CHECKED} -eq 1 && ${P_HINTS[${CH_ID}]:-0} -lt ${count} ]]; then
    note "that was the last hint about what your last check found failing; after your next" \
      "change, ./workbook check ${CH_ID}, and the next hint follows what still fails."
  else
    note "that was the last hint. \"The fix\" in ${CH_LESSON} explains the fix," \
      "and ./workbook solution ${CH_ID} --force shows it."
  fi
  if [[ ${counted} -eq 0 ]]; then
    die 1 "this hint is not counted (the next call shows it again): ${PROGRESS_WRITE_ERROR}; ${WRITE_ADVICE}"
  fi
}

help_hint() {
  cat <<EOF
usage: ./workbook hint NN

Shows one of chapter NN's hints from the catalog, from a nudge to nearly the
answer. A hint about a particular test or failure is shown only while your
last check (./workbook check NN) still finds it failing: once you have fixed
what it is about, the next hint is about what is still wrong. Before any
check, the hints come in the catalog's order; after the last, it repeats one.
How many you have seen is kept in my-work/progress.tsv, and which ones in
my-work/.hints-shown.tsv.
EOF
}

# Waits until the learner's copy differs from the version CHECKED (a hash;
# "missing" while a file is gone): its content, not only its time stamps. A
# save during the last check returns at once. inotifywait wakes up at once on
# a save; it also gives up after a second, so a file system whose events never
# arrive (network and shared folders) is still looked at every second. With
# POLL=1 it only looks.
wait_for_change() { # POLL CHECKED
  local poll=$1 before=$2 rc
  while true; do
    if [[ ${poll} -eq 1 ]]; then
      sleep 1
    else
      rc=0
      inotifywait -qq -t 1 -e close_write -e moved_to -e create -e delete -- "${CH_WORK_DIR}" \
        2>/dev/null || rc=$?
      if [[ ${rc} -eq 1 ]]; then
        note "(inotifywait cannot watch $(show_path "${CH_WORK_DIR}"): looking every second instead)"
        poll=1
      fi
    fi
    if [[ $(learner_hash) != "${before}" ]]; then
      sleep 0.2 # let the editor finish writing
      return 0
    fi
  done
}

# The index of the first started chapter that is not fixed, or nothing.
first_unfixed_started() {
  local i
  for i in "${!CHAPTER_IDS[@]}"; do
    use_chapter "${i}"
    if is_started && [[ $(chapter_state) != fixed ]]; then
      printf '%s' "${i}"
      return
    fi
  done
}

cmd_watch() {
  parse_args watch "--poll" "$@"
  local poll=0 follow=0 index how
  has_flag --poll && poll=1
  if [[ ${poll} -eq 0 ]] && ! command -v inotifywait >/dev/null 2>&1; then
    note "(inotifywait is not installed: looking every second; apt-get install inotify-tools)"
    poll=1
  fi
  ensure_dependencies
  ensure_configured
  load_progress
  if [[ -n ${ARG_CHAPTER} ]]; then
    select_chapter "${ARG_CHAPTER}"
    require_started
  else
    # Without NN: the first chapter in progress, then the next, until all are fixed.
    follow=1
    index=$(first_unfixed_started)
    [[ -n ${index} ]] || die 1 "no chapter you started is waiting for a fix: ./workbook start NN first"
    use_chapter "${index}"
  fi
  how="checks again on every save"
  [[ ${poll} -eq 1 ]] && how="looks for changes every second"
  trap 'printf "\nstopped watching\n"; exit 0' INT TERM

  while true; do
    if [[ -t 1 ]]; then
      printf '\e[H\e[2J' # a clean screen for each check
    else
      printf '\n%s── %s ──%s\n' "${DIM}" "$(date +%H:%M:%S)" "${RESET}"
    fi
    if check_and_report && [[ ${follow} -eq 1 ]]; then
      load_progress
      index=$(first_unfixed_started)
      if [[ -z ${index} ]]; then
        note "every chapter you started is fixed: ./workbook list shows what is next"
        return 0
      fi
      use_chapter "${index}"
      continue
    fi
    printf '\n%swatching %s: %s (Ctrl-C stops)%s\n' "${DIM}" "$(show_path "${CH_WORK_DIR}")" \
      "${how}" "${RESET}"
    wait_for_change "${poll}" "${CHECK_HASH:-$(learner_hash)}"
  done
}

help_watch() {
  cat <<EOF
usage: ./workbook watch [NN] [--poll]

Checks chapter NN, then checks it again every time you save one of its files,
until you press Ctrl-C. Without NN it watches the first chapter you started
that is not fixed, and moves on to the next one when it passes.
It reacts to a save at once with inotify (inotify-tools), and also looks at
the files every second, for file systems whose change events do not arrive
(network or shared folders); --poll only looks every second.
EOF
}

# progress_update's FUNCTION for reset: the chapter is not fixed any more.
clear_pass() {
  progress_touch "${CH_ID}"
  P_PASS[${CH_ID}]=- P_HASH[${CH_ID}]=-
}

cmd_reset() {
  parse_args reset "--yes" "$@"
  require_chapter_arg reset
  ensure_configured
  select_chapter "${ARG_CHAPTER}"
  is_started || die 1 "$(chapter_label) is not started: there is nothing to reset (./workbook start ${CH_ID})"
  if ! has_flag --yes; then
    if [[ ! -t 0 ]]; then
      die 2 "reset replaces your copy of $(chapter_label) with the broken original;" \
        "with no terminal to ask on, confirm with --yes"
    fi
    local answer=""
    read -r -p "replace your copy in $(show_path "${CH_WORK_DIR}") with the broken original? (yours goes to $(show_path "${LEARNER_DIR}")/.trash/) [y/N] " answer || true
    if [[ ! ${answer} =~ ^[yY] ]]; then
      note "your copy is kept as it is"
      exit 1
    fi
  fi
  local file out kept=0 restored
  restored=$(learner_missing)
  # Your version first goes to the trash: a reset loses nothing.
  TRASH_DIR=""
  for file in "${CH_FILES[@]}"; do
    [[ -f "${CH_WORK_DIR}/${file}" ]] || continue
    cmp -s -- "${CH_WORK_DIR}/${file}" "chapters/${CH_NAME}/${file}" && continue
    if ! keep_in_trash "${CH_WORK_DIR}/${file}"; then
      die 1 "nothing was reset: ${PROGRESS_WRITE_ERROR}; ${WRITE_ADVICE}"
    fi
    kept=$((kept + 1))
  done
  for file in "${CH_FILES[@]}"; do
    if ! out=$(cp -- "chapters/${CH_NAME}/${file}" "${CH_WORK_DIR}/${file}" 2>&1); then
      die 1 "the reset stopped: cannot write $(show_path "${CH_WORK_DIR}/${file}"):" \
        "$(failure_reason "${out}")$([[ ${kept} -eq 0 ]] || echo "; your version is kept in $(show_path "${TRASH_DIR}")");" \
        "${WRITE_ADVICE}"
    fi
  done
  note "$(chapter_label): your copy is the broken original again ($(show_path "${CH_WORK_DIR}"))"
  if [[ -n ${restored} ]]; then note "  restored what was missing: ${restored}"; fi
  if [[ ${kept} -gt 0 ]]; then
    note "  your version is kept in $(show_path "${TRASH_DIR}/${CH_NAME}")/"
  elif [[ -z ${restored} ]]; then
    note "  (it was the broken original already: there was nothing to keep)"
  fi
  if ! progress_update clear_pass; then
    die 1 "but $(show_path "${PROGRESS_FILE}") still counts the chapter as fixed: ${PROGRESS_WRITE_ERROR};" \
      "${WRITE_ADVICE}"
  fi
}

help_reset() {
  cat <<EOF
usage: ./workbook reset NN [--yes]

Puts chapter NN's broken code back in your copy (my-work/NN-slug/), after
asking for confirmation; --yes does not ask (and is needed without a
terminal). Your version is not lost: it is kept in
my-work/.trash/<UTC time>/NN-slug/ first. It also brings back a file of
your copy that is missing. The chapter counts as not fixed again; the hints
you have seen stay counted.
EOF
}

cmd_run() {
  parse_args run "--no-predict" "$@"
  require_chapter_arg run
  ensure_dependencies
  ensure_configured
  select_chapter "${ARG_CHAPTER}"
  local variants=(pitfall fix) variant targets=() failed=() missing fd="" predicted=0
  # Predict, then run: the question comes first, before anything is shown.
  if predict_load && predict_wanted && predict_ask; then
    predicted=1
    predict_start
  fi
  if is_started; then
    missing=$(learner_missing)
    if [[ -z ${missing} ]]; then
      variants+=(learner)
      # A check of this chapter relinks the learner's code: one at a time.
      take_lock "${BUILD_DIR}/.workbook-check-${CH_ID}.lock" \
        "a check of chapter ${CH_ID} is running in ${BUILD_DIR}; waiting for it to finish..."
      fd=${LOCK_FD}
    else
      error "your copy is not run: $(missing_repair "${missing}")"
    fi
  fi
  for variant in "${variants[@]}"; do targets+=("ch${CH_ID}_demo_${variant}"); done
  if ! build_targets "${targets[@]}"; then
    build_errors
    die 1 "the build failed: see the compiler messages above"
  fi
  heading "━━ $(chapter_label) ━━"
  for variant in "${variants[@]}"; do
    printf '\n'
    case ${variant} in
      pitfall) heading "the pitfall (chapters/${CH_NAME}):" ;;
      fix) heading "the fix (solutions/${CH_NAME}):" ;;
      learner) heading "your copy ($(show_path "${CH_WORK_DIR}")):" ;;
    esac
    predict_run_demo "${variant}" || failed+=("ch${CH_ID}_demo_${variant}")
  done
  release_lock "${fd}"
  local predict_rc=0
  if [[ ${predicted} -eq 1 ]]; then
    predict_report "${failed[*]}" "${variants[@]}" || predict_rc=1
  fi
  printf '\n'
  note "the lesson behind it: ${CH_LESSON}"
  if [[ ${#failed[@]} -gt 0 ]]; then
    printf '%s: %s did not run cleanly\n' "$(verdict 1)" "$(join ', ' "${failed[@]}")"
    exit 1
  fi
  [[ ${predict_rc} -eq 0 ]] || exit 1
}

help_run() {
  cat <<EOF
usage: ./workbook run NN [--no-predict]

Builds and runs chapter NN's demo against the pitfall, then against the fix,
and, once you have started the chapter, against your copy.

Predict, then run: on a terminal it first asks the chapter's question, whose
answer is a figure the demo measures (how long 8 reads take, how many notes
are saved, ...). Type a number (Enter skips). After the demos it shows your
guess beside each demo's measurement, says how far off it was, and keeps it
in my-work/progress.tsv (./workbook report --json lists your predictions).
--no-predict does not ask; nor does a run whose input is not a terminal (a
script, a pipe).
Exits 1 if a demo fails, or if your prediction could not be compared or
recorded.
EOF
}

# progress_update's FUNCTION for solution --force: when it was first used before a pass.
mark_solution_forced() {
  progress_touch "${CH_ID}"
  [[ ${P_PASS[${CH_ID}]} != - || -n ${P_FORCED[${CH_ID}]:-} ]] || P_FORCED[${CH_ID}]=$(utc_now)
}

cmd_solution() {
  parse_args solution "--force" "$@"
  require_chapter_arg solution
  ensure_configured
  select_chapter "${ARG_CHAPTER}"
  load_progress
  if [[ ${P_PASS[${CH_ID}]:--} == - ]] && ! has_flag --force; then
    error "the solution is shown once your check of $(chapter_label) has passed" \
      "(./workbook check ${CH_ID}); to see it anyway: ./workbook solution ${CH_ID} --force"
    exit 1
  fi
  # Seeing the solution before a pass is recorded for the instructor's report
  # (the first time); if it cannot be, the solution is not shown.
  if [[ ${P_PASS[${CH_ID}]:--} == - && -z ${P_FORCED[${CH_ID}]:-} ]]; then
    progress_update mark_solution_forced ||
      die 1 "the solution is not shown: solution --force is recorded in" \
        "$(show_path "${PROGRESS_FILE}") for your instructor's report, and ${PROGRESS_WRITE_ERROR};" \
        "${WRITE_ADVICE}"
  fi
  local file colour=() rc
  if [[ -n ${RESET} ]]; then colour=(--color=always); fi
  for file in "${CH_FILES[@]}"; do
    rc=0
    diff -u "${colour[@]}" --label "chapters/${CH_NAME}/${file}" --label "solutions/${CH_NAME}/${file}" \
      "chapters/${CH_NAME}/${file}" "solutions/${CH_NAME}/${file}" || rc=$?
    [[ ${rc} -le 1 ]] || die 1 "diff failed on ${file}"
  done
  printf '\n'
  note "\"The fix\" in ${CH_LESSON} explains it."
}

help_solution() {
  cat <<EOF
usage: ./workbook solution NN [--force]

Shows the difference between chapter NN's broken code (chapters/NN-slug/) and
the fixed code (solutions/NN-slug/) as a unified diff. It is shown once your
check of the chapter has passed; --force shows it before, and records the
first time it did so in my-work/progress.tsv (./workbook report shows it).
EOF
}

help_tour() {
  cat <<EOF
usage: ./workbook tour [NN]

Installs the build dependencies if needed, builds the demos (only chapter
NN's with NN, e.g. 01; the build says only how far it is, and shows the
compiler's messages if it fails), then shows each chapter: its pitfall demo
(the broken code) followed by its fix demo (the corrected code).
Exits 1 if a demo fails (the others still run).
EOF
}

cmd_tour() {
  [[ $# -le 1 ]] || die 2 "tour takes at most one chapter number (see ./workbook tour --help)"
  local only=${1:-}
  [[ ${only} =~ ^[0-9]$ ]] && only="0${only}" # accept "1" for "01"

  ensure_dependencies
  ensure_configured
  require_configured

  local indices=() i targets=()
  for i in "${!CHAPTER_IDS[@]}"; do
    if [[ -z ${only} || ${CHAPTER_IDS[i]} == "${only}" ]]; then
      indices+=("${i}")
      targets+=("ch${CHAPTER_IDS[i]}_demo_pitfall" "ch${CHAPTER_IDS[i]}_demo_fix")
    fi
  done
  if [[ ${#indices[@]} -eq 0 ]]; then
    die 2 "unknown chapter '${only}': the chapters are $(join ', ' "${CHAPTER_IDS[@]}")"
  fi
  # Only the demos the tour shows; the build's own lines only if it fails.
  if ! build_with_progress "${targets[@]}"; then
    build_errors >&2
    if disk_nearly_full; then
      die 1 "the build failed: the disk is full ($(free_space_text) free where ${BUILD_DIR} is);" \
        "free some space and run the command again"
    fi
    die 1 "the build of the demos failed: see the compiler messages above (the whole log: ${BUILD_LOG})"
  fi

  local failed=() id lessons=()
  for i in "${indices[@]}"; do
    id=${CHAPTER_IDS[i]}
    printf '\n'
    heading "━━ Chapter ${id} · ${CHAPTER_TITLES[i]} ━━"
    printf '\n'
    heading "the pitfall:"
    run_demo "ch${id}_demo_pitfall" || failed+=("ch${id}_demo_pitfall")
    printf '\n%s┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄%s\n\n' "${DIM}" "${RESET}"
    heading "the fix:"
    run_demo "ch${id}_demo_fix" || failed+=("ch${id}_demo_fix")
    lessons+=("chapters/${id}-${CHAPTER_SLUGS[i]}/README.md")
  done

  printf '\n'
  if [[ ${#lessons[@]} -eq 1 ]]; then
    note "the lesson behind it: ${lessons[0]}"
  else
    note "the lessons behind them: $(join ', ' "${lessons[@]}")"
  fi
  if [[ ${#failed[@]} -gt 0 ]]; then
    printf '%s: %d demo(s) did not run cleanly: %s\n' "$(verdict 1)" "${#failed[@]}" "${failed[*]}"
    exit 1
  fi
}
