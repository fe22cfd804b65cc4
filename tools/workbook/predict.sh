# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# Predict, then run: the question ./workbook run NN asks before the demos
# ---------------------------------------------------------------------------
#
# Each chapter's catalog entry has a prediction question whose answer is a
# figure its demo measures ("predict" in chapters/catalog.json, which CMake
# writes to build/<preset>/catalog/NN.predict: measure, unit, demo, question,
# tab-separated). On a terminal, ./workbook run NN asks it before building and
# running the demos, runs each demo with WORKBOOK_MEASURED_FILE naming a file
# of its own (workbook::print_measured appends its line
# "measured: <measure>=<number> <unit>" there, and prints it as usual), then
# shows the guess beside what each demo measured, says how far off it was, and
# keeps it in progress.tsv: one line per prediction,
#   predict, chapter, measure, guess, measured, unit, time
# (see progress.sh); ./workbook report --json lists them.

PREDICT_MEASURE="" PREDICT_UNIT="" PREDICT_DEMO="" PREDICT_QUESTION="" PREDICT_GUESS=""
# Where the demos of this run write their measured lines; empty when no
# prediction was made.
PREDICT_DIR=""
# The predictions in progress.tsv, one tab-separated line each: chapter,
# measure, guess, measured, unit, time (filled by read_progress).
P_PREDICTIONS=()

# Loads the chosen chapter's question (CH_ID); returns 1 if it has none.
predict_load() {
  PREDICT_MEASURE="" PREDICT_UNIT="" PREDICT_DEMO="" PREDICT_QUESTION="" PREDICT_GUESS=""
  local file="${BUILD_DIR}/catalog/${CH_ID}.predict"
  [[ -f ${file} ]] || return 1
  IFS=$'\t' read -r PREDICT_MEASURE PREDICT_UNIT PREDICT_DEMO PREDICT_QUESTION <"${file}" || true
  [[ -n ${PREDICT_MEASURE} && -n ${PREDICT_UNIT} && -n ${PREDICT_DEMO} && -n ${PREDICT_QUESTION} ]]
}

# Whether to ask: not with --no-predict, and only with a person at a terminal
# to answer (a script, a pipe or ctest gives no terminal on stdin).
predict_wanted() {
  ! has_flag --no-predict && [[ -t 0 ]]
}

# A learner's answer as a number (printed, normalised: "007" -> 7, "2.50" ->
# 2.5), or returns 1. A number may be followed by the question's unit
# ("160 ms"); commas and signs are refused, so "1,5" is never read as 15.
predict_number() { # TEXT
  local text=$1
  text=${text//[[:space:]]/}
  local unit=${PREDICT_UNIT,,}
  if [[ -n ${unit} && ${text,,} == *"${unit}" ]]; then text=${text:0:${#text}-${#unit}}; fi
  [[ ${text} =~ ^[0-9]{1,9}([.][0-9]{1,6})?$ ]] || return 1 # never printed as 1e+09
  awk -v x="${text}" 'BEGIN { printf "%.12g", x + 0 }'
}

# Asks the question on the terminal and sets PREDICT_GUESS; asks again after
# anything that is not a number. Returns 1 if the learner skips it (Enter
# alone, or end of input).
predict_ask() {
  local answer number
  printf '\n'
  heading "predict first · $(chapter_label)"
  printf '%s\n' "${PREDICT_QUESTION}" | fold -s -w 76 | sed 's/ *$//; s/^/  /'
  printf '\n'
  while true; do
    answer=""
    if ! read -r -p "your guess, in ${PREDICT_UNIT} (Enter skips): " answer; then
      printf '\n'
      note "(no guess: the demos run without one)"
      return 1
    fi
    if [[ -z ${answer//[[:space:]]/} ]]; then
      note "(skipped: the demos run without a guess; --no-predict never asks)"
      return 1
    fi
    if number=$(predict_number "${answer}"); then
      PREDICT_GUESS=${number}
      return 0
    fi
    note "'${answer}' is not a number: type a number of ${PREDICT_UNIT}, like 120 or 2.5," \
      "or press Enter to skip"
  done
}

# Makes the folder the demos write their measured lines to.
predict_start() {
  PREDICT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/workbook-measured.XXXXXX") ||
    die 1 "cannot make a temporary folder for the demos' measurements (TMPDIR=${TMPDIR:-/tmp})"
  # shellcheck disable=SC2064 # the folder's name is known now
  trap "rm -rf -- '${PREDICT_DIR}'" EXIT
}

# Runs the chosen chapter's demo VARIANT (run_demo), keeping its measured line
# when a prediction was made.
predict_run_demo() { # VARIANT
  if [[ -n ${PREDICT_DIR} ]]; then
    WORKBOOK_MEASURED_FILE="${PREDICT_DIR}/$1" run_demo "ch${CH_ID}_demo_$1"
  else
    run_demo "ch${CH_ID}_demo_$1"
  fi
}

# What demo VARIANT measured for the question: "<number> <unit>", or nothing.
predict_measured() { # VARIANT
  local file="${PREDICT_DIR}/$1" line=""
  [[ -f ${file} ]] || return 0
  line=$(grep -E "^measured: ${PREDICT_MEASURE}=[0-9]+([.][0-9]+)? " "${file}" | tail -n 1) || true
  line=${line#"measured: ${PREDICT_MEASURE}="}
  printf '%s' "${line}"
}

# How far GUESS is from MEASURED, in words: "spot on", "close: 6% too low",
# "about 3 times too high", each with the difference in UNIT.
predict_words() { # GUESS MEASURED UNIT
  awk -v g="$1" -v m="$2" -v unit="$3" '
    function shown(x) { x = (x < 0 ? -x : x); return (x == int(x)) ? sprintf("%d", x) : sprintf("%.1f", x) }
    function times(x) { return (x >= 10) ? sprintf("%d", x + 0.5) : sprintf("%.1f", x) }
    BEGIN {
      g += 0; m += 0; d = g - m
      side = (d > 0) ? "too high" : "too low"
      by = sprintf(" (%s %s %s)", shown(d), unit, (d > 0) ? "over" : "under")
      if (d == 0) { print "exactly right"; exit }
      if (m == 0) { printf "%s: it measured 0 %s%s\n", side, unit, by; exit }
      if (g == 0) { printf "%s: it measured %s %s, not 0\n", side, shown(m), unit; exit }
      r = g / m; pct = (r > 1 ? r - 1 : 1 - r) * 100
      if (pct <= 5) { printf "spot on: within 5%% of the measurement%s\n", by; exit }
      if (pct <= 25) { printf "close: %d%% %s%s\n", pct + 0.5, side, by; exit }
      if (r >= 2) { printf "about %s times %s%s\n", times(r), side, by; exit }
      if (r <= 0.5) { printf "about %s times %s%s\n", times(1 / r), side, by; exit }
      printf "%d%% %s%s\n", pct + 0.5, side, by
    }'
}

# After the demos: shows the guess beside each demo's measurement and how far
# off it was, and records it. FAILED lists the demos that did not run cleanly
# (ch<NN>_demo_<variant>, separated by spaces), VARIANTS are the demos that
# ran. Returns 1 if the answer is missing or the prediction could not be
# recorded.
predict_report() { # "FAILED" VARIANTS...
  local failed=$1 variant value answer="" label
  shift
  printf '\n'
  heading "your prediction · $(chapter_label)"
  # One row each: what, the figure (right-aligned), its unit.
  printf '  %-12s %9s %s\n' "your guess" "${PREDICT_GUESS}" "${PREDICT_UNIT}"
  for variant in "$@"; do
    case ${variant} in
      pitfall) label="the pitfall" ;;
      fix) label="the fix" ;;
      *) label="your copy" ;;
    esac
    value=$(predict_measured "${variant}")
    if [[ ${variant} == "${PREDICT_DEMO}" ]]; then answer=${value%% *}; fi
    if [[ -z ${value} ]]; then
      printf '  %-12s %9s %s\n' "${label}" "-" "${DIM}(the demo printed no figure)${RESET}"
    elif [[ ${variant} == "${PREDICT_DEMO}" ]]; then
      printf '  %-12s %s%9s %s%s   %s<- the question is about this one%s\n' "${label}" "${BOLD}" \
        "${value%% *}" "${value#* }" "${RESET}" "${DIM}" "${RESET}"
    else
      printf '  %-12s %9s %s\n' "${label}" "${value%% *}" "${value#* }"
    fi
  done
  if [[ -z ${answer} ]]; then
    if [[ " ${failed} " == *" ch${CH_ID}_demo_${PREDICT_DEMO} "* ]]; then
      error "the ${PREDICT_DEMO}'s demo did not run cleanly, so your guess has no measurement" \
        "to be compared with; it is not recorded"
    else
      error "chapter ${CH_ID}'s ${PREDICT_DEMO} demo never printed \"measured:" \
        "${PREDICT_MEASURE}=<number> ${PREDICT_UNIT}\", the figure its prediction question" \
        "(chapters/catalog.json, predict.measure \"${PREDICT_MEASURE}\") asks for: the catalog and" \
        "the demo disagree, so your guess is not recorded. This is a mistake in the workbook, not" \
        "in your work: please report it (ctest -R ${CH_NAME}/predict shows it)."
    fi
    return 1
  fi
  printf '\n  %s\n' "$(predict_words "${PREDICT_GUESS}" "${answer}" "${PREDICT_UNIT}")"
  PREDICT_ANSWER=${answer}
  if ! progress_update predict_record; then
    error "your prediction is not recorded: ${PROGRESS_WRITE_ERROR}; ${WRITE_ADVICE}"
    return 1
  fi
  note "  recorded in $(show_path "${PROGRESS_FILE}")"
}

# progress_update's FUNCTION for run: adds the prediction just compared.
PREDICT_ANSWER=""
predict_record() {
  P_PREDICTIONS+=("${CH_ID}"$'\t'"${PREDICT_MEASURE}"$'\t'"${PREDICT_GUESS}"$'\t'"${PREDICT_ANSWER}"$'\t'"${PREDICT_UNIT}"$'\t'"$(utc_now)")
}

# read_progress's reader of a "predict" line of progress.tsv: LINE_NUMBER,
# then the line's fields after "predict". A good one is added to
# P_PREDICTIONS; a bad one is dropped, and named in PROGRESS_PROBLEMS.
progress_read_prediction() { # LINE_NUMBER FIELDS...
  local number=$1 time='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
  local figure='^(0|[1-9][0-9]{0,11})([.][0-9]{1,6})?$' # also a JSON number
  shift
  local problem=""
  if [[ $# -ne 6 ]]; then
    problem="has $# fields after \"predict\", expected 6 (chapter, measure, guess, measured, unit, time)"
  elif [[ ! $1 =~ ^[0-9]{2}$ ]]; then
    problem="does not name a two-digit chapter"
  elif [[ ! $2 =~ ^[a-z][a-z0-9_]*$ ]]; then
    problem="has the measure $(shown_line "$2"), not a key like read_time"
  elif [[ ! $3 =~ ${figure} || ! $4 =~ ${figure} ]]; then
    problem="has a guess or a measurement that is not a number"
  elif [[ ! $5 =~ ^[A-Za-z][A-Za-z/]*$ ]]; then
    problem="has the unit $(shown_line "$5"), not a word like ms"
  elif [[ ! $6 =~ ${time} ]]; then
    problem="has the time $(shown_line "$6"), not a UTC time like 2024-05-01T12:00:00Z"
  fi
  if [[ -n ${problem} ]]; then
    PROGRESS_PROBLEMS+=("line ${number}: a prediction that ${problem}: dropped")
    return 0
  fi
  P_PREDICTIONS+=("$1"$'\t'"$2"$'\t'"$3"$'\t'"$4"$'\t'"$5"$'\t'"$6")
}

# save_progress's writer of the predictions: one "predict" line each, oldest first.
progress_write_predictions() {
  [[ ${#P_PREDICTIONS[@]} -gt 0 ]] || return 0
  local prediction
  printf '# predict\tchapter\tmeasure\tguess\tmeasured\tunit\ttime\n'
  for prediction in "${P_PREDICTIONS[@]}"; do printf 'predict\t%s\n' "${prediction}"; done
}

# The predictions as a JSON array, for report --json. Every field was checked
# when progress.tsv was read: the figures are numbers, the others plain words.
json_predictions() {
  local prediction separator="" chapter measure guess measured unit time
  printf '['
  for prediction in "${P_PREDICTIONS[@]}"; do
    IFS=$'\t' read -r chapter measure guess measured unit time <<<"${prediction}"
    printf '%s\n    {"chapter": "%s", "measure": "%s", "guess": %s, "measured": %s, "unit": "%s", "time": "%s"}' \
      "${separator}" "${chapter}" "${measure}" "${guess}" "${measured}" "${unit}" "${time}"
    separator=","
  done
  [[ -z ${separator} ]] || printf '\n  '
  printf ']'
}
