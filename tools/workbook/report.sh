# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# Grading: report
# ---------------------------------------------------------------------------

# Text with invalid UTF-8 dropped (a test may print any bytes; JSON and XML
# must be UTF-8). Without iconv, the text as it is.
utf8_clean() { # TEXT
  if command -v iconv >/dev/null 2>&1; then
    printf '%s' "$1" | iconv -f UTF-8 -t UTF-8 -c 2>/dev/null || true
  else
    printf '%s' "$1"
  fi
}

# Text made safe for a JSON string: backslash, quote and control characters escaped.
json_escape() {
  local text char code
  text=$(utf8_clean "$1")
  text=${text//\\/"\\\\"}
  text=${text//\"/"\\\""}
  text=${text//$'\n'/"\\n"}
  text=${text//$'\r'/"\\r"}
  text=${text//$'\t'/"\\t"}
  while [[ ${text} =~ [[:cntrl:]] ]]; do
    char=${BASH_REMATCH[0]}
    printf -v code '\\u%04x' "'${char}"
    text=${text//"${char}"/"${code}"}
  done
  printf '%s' "${text}"
}

# Text made safe for XML: the five entities; control characters XML 1.0 cannot
# hold (all but tab, newline and carriage return) are dropped.
xml_escape() {
  local text
  text=$(utf8_clean "$1")
  # The replacements are quoted: bash 5.2 reads an unquoted & in them as the match.
  text=${text//&/"&amp;"}
  text=${text//</"&lt;"}
  text=${text//>/"&gt;"}
  text=${text//\"/"&quot;"}
  text=${text//\'/"&apos;"}
  printf '%s' "${text}" | tr -d '\000-\010\013\014\016-\037'
}

# The results of the report's checks, one entry per started chapter.
R_INDEX=() R_RESULT=() R_US=() R_FAILURE=()

# The first line of a failure that carries the chapter's signature, else its first line.
failure_summary() { # FAILURE SIGNATURE
  local line
  # Several signatures (joined by the unit separator) are several patterns for grep -F.
  if [[ -n $2 ]] && line=$(grep -F -m 1 -- "${2//$'\x1f'/$'\n'}" <<<"$1"); then
    printf '%s' "${line}"
  else
    head -n 1 <<<"$1"
  fi
}

# write_report_file FILE WHAT FUNCTION: writes FUNCTION's output to FILE (a new
# file moved over it, so that a failed write leaves no half report).
write_report_file() {
  local file=$1 what=$2 text out
  text=$("$3")
  if ! out=$({ printf '%s\n' "${text}" >"${file}.tmp.$$"; } 2>&1) ||
    ! out=$(mv -f -- "${file}.tmp.$$" "${file}" 2>&1); then
    rm -f -- "${file}.tmp.$$" 2>/dev/null || true
    error "the ${what} report is not written: cannot write ${file}: $(failure_reason "${out}")"
    return 1
  fi
  note "${what}: ${file}"
}

# The JUnit XML report, on stdout.
write_junit() {
  local i failures=0 total_us=0 message
  for i in "${!R_INDEX[@]}"; do
    [[ ${R_RESULT[i]} == passed ]] || failures=$((failures + 1))
    total_us=$((total_us + R_US[i]))
  done
  {
    printf '<?xml version="1.0" encoding="UTF-8"?>\n'
    printf '<testsuites name="async-patterns workbook" tests="%d" failures="%d" time="%s">\n' \
      "${#R_INDEX[@]}" "${failures}" "$(format_seconds "${total_us}")"
    printf '  <testsuite name="workbook" tests="%d" failures="%d" errors="0" skipped="0" time="%s" timestamp="%s">\n' \
      "${#R_INDEX[@]}" "${failures}" "$(format_seconds "${total_us}")" "$(date -u +%Y-%m-%dT%H:%M:%S)"
    for i in "${!R_INDEX[@]}"; do
      use_chapter "${R_INDEX[i]}"
      printf '    <testcase classname="workbook.chapters" name="%s" time="%s">\n' \
        "$(xml_escape "${CH_NAME}")" "$(format_seconds "${R_US[i]}")"
      if [[ ${R_RESULT[i]} != passed ]]; then
        message=$(failure_summary "${R_FAILURE[i]}" "${CH_SIGNATURE}")
        printf '      <failure type="%s" message="%s">%s</failure>\n' "$(report_status "${R_RESULT[i]}")" \
          "$(xml_escape "${message}")" "$(xml_escape "${R_FAILURE[i]}")"
      fi
      printf '    </testcase>\n'
    done
    printf '  </testsuite>\n</testsuites>\n'
  }
}

# The JSON report, on stdout. Every string goes through json_escape, every
# number is one (progress.tsv is validated when it is read).
write_json() {
  local i fixed=0 separator=""
  for i in "${!R_INDEX[@]}"; do
    [[ ${R_RESULT[i]} == passed ]] && fixed=$((fixed + 1))
  done
  {
    printf '{\n'
    printf '  "workbook": "async-patterns",\n'
    printf '  "generated": "%s",\n' "$(utc_now)"
    printf '  "learner_dir": "%s",\n' "$(json_escape "$(show_path "${LEARNER_DIR}")")"
    printf '  "chapters_total": %d,\n  "started": %d,\n  "fixed": %d,\n' \
      "${#CHAPTER_IDS[@]}" "${#R_INDEX[@]}" "${fixed}"
    printf '  "chapters": ['
    for i in "${!R_INDEX[@]}"; do
      use_chapter "${R_INDEX[i]}"
      printf '%s\n    {"id": "%s", "slug": "%s", "title": "%s", "status": "%s", "passed": %s,' \
        "${separator}" "${CH_ID}" "$(json_escape "${CH_SLUG}")" "$(json_escape "${CH_TITLE}")" \
        "$(report_status "${R_RESULT[i]}")" "$([[ ${R_RESULT[i]} == passed ]] && echo true || echo false)"
      printf ' "seconds": %s, "hints_shown": %s, "last_pass": "%s", "failure": "%s"}' \
        "$(format_seconds "${R_US[i]}")" "$(json_number "${P_HINTS[${CH_ID}]:-0}")" \
        "$(json_escape "${P_PASS[${CH_ID}]:--}")" "$(json_escape "${R_FAILURE[i]}")"
      separator=","
    done
    printf '\n  ],\n  "predictions": %s\n}\n' "$(json_predictions)"
  }
}

# A whole number for JSON: the number, or 0 if it is not one.
json_number() { # TEXT
  if [[ $1 =~ ^[0-9]{1,9}$ ]]; then printf '%d' $((10#$1)); else printf '0'; fi
}

# A check's result as the report words it.
report_status() { # RESULT
  case $1 in
    passed) echo fixed ;;
    compile) echo "does not compile" ;;
    timeout) echo "pitfall still present (timed out)" ;;
    crash) echo "pitfall still present (crashed)" ;;
    missing) echo "a file of the copy is missing" ;;
    unbuildable) echo "cannot be built" ;;
    changing) echo "changed while checked" ;;
    *) echo "pitfall still present" ;;
  esac
}

cmd_report() {
  local junit="" json=""
  while [[ $# -gt 0 ]]; do
    case $1 in
      --junit | --json)
        [[ $# -ge 2 && -n $2 && $2 != -* ]] || die 2 "$1 needs a file name (see ./workbook report --help)"
        if [[ $1 == --junit ]]; then junit=$(caller_path "$2"); else json=$(caller_path "$2"); fi
        shift 2
        ;;
      *) die 2 "unknown argument '$1' for report (see ./workbook report --help)" ;;
    esac
  done
  ensure_dependencies
  ensure_configured
  load_progress
  R_INDEX=() R_RESULT=() R_US=() R_FAILURE=()
  local i started=()
  for i in "${!CHAPTER_IDS[@]}"; do
    use_chapter "${i}"
    if is_started; then started+=("${i}"); fi
  done
  [[ ${#started[@]} -gt 0 ]] || note "no chapter is started yet (./workbook start NN): the report is empty"

  local n=0 not_recorded=""
  for i in "${started[@]}"; do
    use_chapter "${i}"
    n=$((n + 1))
    note "[${n}/${#started[@]}] checking $(chapter_label)"
    check_steady
    if [[ ${CHECK_RESULT} == passed && ${CHECK_CHANGED} -eq 1 ]]; then
      CHECK_RESULT=changing
      CHECK_FAILURE="the copy kept changing while it was checked: its result is not reliable; check it again"
    fi
    if [[ -n ${CHECK_RECORD_ERROR} ]]; then not_recorded=${CHECK_RECORD_ERROR}; fi
    R_INDEX+=("${i}") R_RESULT+=("${CHECK_RESULT}") R_US+=("${CHECK_US}") R_FAILURE+=("${CHECK_FAILURE}")
  done
  if [[ -n ${not_recorded} ]]; then
    error "the passes are not recorded in progress.tsv (${not_recorded}); the report itself is complete"
  fi
  load_progress

  local width=0 failures=0
  for i in "${!CHAPTER_TITLES[@]}"; do
    ((${#CHAPTER_TITLES[i]} > width)) && width=${#CHAPTER_TITLES[i]}
  done
  printf '\n'
  heading "$(printf '%-2s  %-*s  %-24s %7s  %5s' '#' "${width}" chapter result seconds hints)"
  for i in "${!R_INDEX[@]}"; do
    use_chapter "${R_INDEX[i]}"
    [[ ${R_RESULT[i]} == passed ]] || failures=$((failures + 1))
    printf '%s  %-*s  %-24s %7s  %5s\n' "${CH_ID}" "${width}" "${CH_TITLE}" \
      "$(report_status "${R_RESULT[i]}")" "$(format_seconds "${R_US[i]}")" "${P_HINTS[${CH_ID}]:-0}"
  done
  printf '\n%d started, %d fixed, %d not fixed\n' "${#R_INDEX[@]}" $((${#R_INDEX[@]} - failures)) "${failures}"
  local write_failed=0
  if [[ -n ${junit} ]]; then
    write_report_file "${junit}" "JUnit XML" write_junit || write_failed=1
  fi
  if [[ -n ${json} ]]; then
    write_report_file "${json}" JSON write_json || write_failed=1
  fi
  [[ ${failures} -eq 0 && ${write_failed} -eq 0 ]] || exit 1
}

help_report() {
  cat <<EOF
usage: ./workbook report [--junit FILE] [--json FILE]

Checks every chapter you have started (as ./workbook check does, without
asking anything), prints a table of the results, and writes them for grading:
  --junit FILE   JUnit XML: one test case per started chapter; a failure
                 carries the check's failure message
  --json FILE    JSON: per chapter its status, time, hints seen and failure
Exits 0 if every started chapter passes, 1 otherwise.
EOF
}
