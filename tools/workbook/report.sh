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

# ---------------------------------------------------------------------------
# What is graded: every chapter of the catalog
# ---------------------------------------------------------------------------
#
# A report lists every chapter of chapters/catalog.json, not only those the
# build tree holds or the learner started: a chapter not started, or whose
# copy lost a file, counts as not passed. A build tree made with
# WORKBOOK_ONLY_CHAPTERS holds some chapters only; the others are listed as
# not_built. The learner's report leaves them out of its verdict (they were
# not built, so nothing was checked); report --grade, the instructor's,
# counts them as not passed, like a chapter it could not build.

# Points of a chapter without "points" in the catalog: every chapter weighs the same.
readonly DEFAULT_CHAPTER_POINTS=10
# The version of the JSON report (report --json); class-report reads this one only.
readonly REPORT_VERSION=2

# catalog_grading [CATALOG]: one line per catalog chapter,
# "id<TAB>slug<TAB>title<TAB>points<TAB>hints", read from chapters/catalog.json
# (or CATALOG) by CMake in script mode; a problem is a line "error<TAB>what".
catalog_grading() {
  cmake_script "-DCATALOG=${1:-${ROOT}/chapters/catalog.json}" "-DDEFAULT_POINTS=${DEFAULT_CHAPTER_POINTS}" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
if(NOT EXISTS "${CATALOG}")
  message(STATUS "error\t${CATALOG} does not exist")
  return()
endif()
file(READ "${CATALOG}" json)
string(JSON count ERROR_VARIABLE error LENGTH "${json}" chapters)
if(error)
  string(REPLACE "\n" " " error "${error}")
  message(STATUS "error\t${error}")
  return()
endif()
if(count EQUAL 0)
  return()
endif()
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON id ERROR_VARIABLE e1 GET "${json}" chapters ${i} id)
  string(JSON slug ERROR_VARIABLE e2 GET "${json}" chapters ${i} slug)
  string(JSON title ERROR_VARIABLE e3 GET "${json}" chapters ${i} title)
  if(e1 OR e2 OR e3)
    message(STATUS "error\tchapter entry ${i} has no id, slug or title")
    continue()
  endif()
  string(JSON points ERROR_VARIABLE no_points GET "${json}" chapters ${i} points)
  if(no_points)
    set(points "${DEFAULT_POINTS}")
  elseif(NOT points MATCHES "^[0-9]+$")
    message(STATUS "error\tchapter ${id}'s \"points\" is \"${points}\", not a whole number")
    set(points "${DEFAULT_POINTS}")
  endif()
  string(JSON hints ERROR_VARIABLE no_hints LENGTH "${json}" chapters ${i} hints)
  if(no_hints)
    set(hints 0)
  endif()
  string(REPLACE "\t" " " title "${title}")
  message(STATUS "${id}\t${slug}\t${title}\t${points}\t${hints}")
endforeach()
CMAKE
}

# The graded rows, one per chapter of the catalog that the report covers.
G_ID=() G_SLUG=() G_TITLE=() G_POINTS=() G_NHINTS=() G_INDEX=() G_CODE=() G_GRADED=()
G_TEST_US=() G_BUILD_US=() G_FAILURE=() G_MATCHES=()

# Reads the catalog into G_ID .. G_NHINTS (and G_INDEX: the chapter's index in
# the build tree's CHAPTER_IDS, empty if it is not built), keeping the chapters
# named in ONLY (ids separated by spaces; empty: all).
load_graded_rows() { # ONLY
  local only=" $1 " id slug title points hints i line index problems=()
  G_ID=() G_SLUG=() G_TITLE=() G_POINTS=() G_NHINTS=() G_INDEX=()
  while IFS= read -r line; do
    [[ -n ${line} ]] || continue
    IFS=$'\t' read -r id slug title points hints <<<"${line}"
    if [[ ${id} == error ]]; then
      problems+=("${slug}")
      continue
    fi
    [[ ${only} == "  " || ${only} == *" ${id} "* ]] || continue
    G_ID+=("${id}") G_SLUG+=("${slug}") G_TITLE+=("${title}") G_POINTS+=("${points}")
    G_NHINTS+=("${hints}")
    index=""
    for i in "${!CHAPTER_IDS[@]}"; do
      [[ ${CHAPTER_IDS[i]} == "${id}" ]] && index=${i}
    done
    G_INDEX+=("${index}")
  done < <(catalog_grading)
  if [[ ${#problems[@]} -gt 0 ]]; then
    die 1 "chapters/catalog.json cannot be graded: $(join '; ' "${problems[@]}")"
  fi
  [[ ${#G_ID[@]} -gt 0 ]] || die 1 "chapters/catalog.json lists no chapters: there is nothing to grade"
}

# The chapter ids LIST names ("07", "7", "07-slug", separated by commas or
# spaces), checked against the catalog, separated by spaces.
parse_only() { # LIST
  local word wanted ids=() known id slug
  local -A catalog=()
  while IFS=$'\t' read -r id slug _; do
    [[ -n ${id} && ${id} != error ]] && catalog[${id}]=${slug}
  done < <(catalog_grading)
  for word in ${1//,/ }; do
    wanted=${word}
    [[ ${wanted} =~ ^[0-9]$ ]] && wanted="0${wanted}"
    [[ ${wanted} =~ ^([0-9]{2})- ]] && wanted=${BASH_REMATCH[1]}
    if [[ -z ${catalog[${wanted}]:-} ]]; then
      known=$(printf '%s\n' "${!catalog[@]}" | sort | paste -sd, | sed 's/,/, /g')
      die 2 "--only: unknown chapter '${word}': the catalog's chapters are ${known}"
    fi
    ids+=("${wanted}")
  done
  [[ ${#ids[@]} -gt 0 ]] || die 2 "--only needs chapter numbers, e.g. --only 01 or --only 01,03"
  printf '%s' "${ids[*]}"
}

# ---------------------------------------------------------------------------
# Who is graded
# ---------------------------------------------------------------------------

# Sets LEARNER_ID and LEARNER_SOURCE from the first of: --learner ID,
# WORKBOOK_LEARNER_ID, GITHUB_ACTOR (in GitHub Actions only: the account that
# pushed, the learner in GitHub Classroom; a runner's git identity is not the
# learner's), the git config user.email of the clone holding the learner
# folder; else none (an empty id).
LEARNER_ID="" LEARNER_SOURCE=""
resolve_learner() { # FLAG_VALUE
  local email="" dir
  if [[ -n $1 ]]; then
    LEARNER_ID=$1 LEARNER_SOURCE="--learner"
  elif [[ -n ${WORKBOOK_LEARNER_ID:-} ]]; then
    LEARNER_ID=${WORKBOOK_LEARNER_ID} LEARNER_SOURCE=WORKBOOK_LEARNER_ID
  elif [[ ${GITHUB_ACTIONS:-} == true && -n ${GITHUB_ACTOR:-} ]]; then
    LEARNER_ID=${GITHUB_ACTOR} LEARNER_SOURCE=GITHUB_ACTOR
  else
    dir=${LEARNER_DIR}
    [[ -d ${dir} ]] || dir=${ROOT}
    if command -v git >/dev/null 2>&1; then
      email=$(git -C "${dir}" config user.email 2>/dev/null || true)
    fi
    if [[ -n ${email} ]]; then
      LEARNER_ID=${email} LEARNER_SOURCE="git config user.email"
    else
      LEARNER_ID="" LEARNER_SOURCE=none
    fi
  fi
  if [[ ${#LEARNER_ID} -gt 200 || ${LEARNER_ID} =~ [[:cntrl:]] ]]; then
    die 2 "the learner id from ${LEARNER_SOURCE} is not usable (control characters, or longer than" \
      "200 characters): give one with --learner ID"
  fi
}

# ---------------------------------------------------------------------------
# Running the learner's C++: time limit, memory limit, no network
# ---------------------------------------------------------------------------

# How much memory (address space) a graded test may map, in MiB.
readonly GRADE_MEMORY_MB="${WORKBOOK_GRADE_MEMORY_MB:-2048}"
# SANDBOX: the command prefix that runs a graded test; SANDBOX_NOTES: what it
# applies, and what it could not, in words (the report prints and records them).
SANDBOX=() SANDBOX_NOTES=() SANDBOX_NETWORK="" SANDBOX_MEMORY=""
detect_sandbox() {
  [[ ${GRADE_MEMORY_MB} =~ ^[0-9]{1,7}$ && ${GRADE_MEMORY_MB} -ge 64 ]] ||
    die 2 "WORKBOOK_GRADE_MEMORY_MB is '${GRADE_MEMORY_MB}': it must be a whole number of MiB, at least 64"
  [[ ${CHECK_TIMEOUT} =~ ^[0-9]{1,5}$ && ${CHECK_TIMEOUT} -ge 1 ]] ||
    die 2 "WORKBOOK_CHECK_TIMEOUT is '${CHECK_TIMEOUT}': it must be a whole number of seconds"
  SANDBOX=(timeout --kill-after=5 "${CHECK_TIMEOUT}") SANDBOX_NOTES=("time limit ${CHECK_TIMEOUT} s (timeout)")
  # WORKBOOK_GRADE_NO_NAMESPACES=1 skips the namespaces (to see the fallback).
  if [[ -z ${WORKBOOK_GRADE_NO_NAMESPACES:-} ]] && unshare -n true 2>/dev/null; then
    SANDBOX+=(unshare -n --) SANDBOX_NETWORK="none (unshare -n)"
  elif [[ -z ${WORKBOOK_GRADE_NO_NAMESPACES:-} ]] && unshare -c -n true 2>/dev/null; then
    SANDBOX+=(unshare -c -n --) SANDBOX_NETWORK="none (unshare -c -n: a user namespace)"
  else
    SANDBOX_NETWORK="NOT isolated"
  fi
  if [[ ${SANDBOX_NETWORK} == NOT* ]]; then
    SANDBOX_NOTES+=("network NOT isolated: no network namespace could be made here (unshare -n needs root or CAP_SYS_ADMIN; unshare -c -n needs unprivileged user namespaces)")
  else
    SANDBOX_NOTES+=("no network: ${SANDBOX_NETWORK}")
  fi
  local sanitize
  sanitize=$(sed -n 's/^WORKBOOK_SANITIZE:STRING=//p' "${BUILD_DIR}/CMakeCache.txt" 2>/dev/null || true)
  if [[ -n ${sanitize} ]]; then
    # AddressSanitizer and ThreadSanitizer reserve terabytes of address space.
    SANDBOX_MEMORY="none"
    SANDBOX_NOTES+=("NO memory limit: a sanitizer build (${sanitize}) maps more address space than any limit allows")
  elif command -v prlimit >/dev/null 2>&1; then
    SANDBOX+=(prlimit "--as=$((GRADE_MEMORY_MB * 1024 * 1024))" "--fsize=$((256 * 1024 * 1024))" --core=0 --)
    SANDBOX_MEMORY="${GRADE_MEMORY_MB} MiB"
    SANDBOX_NOTES+=("memory limit ${GRADE_MEMORY_MB} MiB of address space, files up to 256 MiB, no core dumps (prlimit)")
  else
    SANDBOX_MEMORY="none"
    SANDBOX_NOTES+=("NO memory limit: prlimit (util-linux) is not installed")
  fi
}

# The text of a source file to compare, without comments and white space: a
# copy that is the reference solution with other comments or layout is still
# the reference solution.
normalised_source() { # FILE
  sed -E -z 's:/\*([^*]|\*+[^*/])*\*+/::g' -- "$1" 2>/dev/null | sed -E 's://.*$::' | tr -d '[:space:]'
}

# Whether the learner's copy of the chapter (CH_*) is the reference solution's text.
copy_is_solution() {
  local file
  for file in "${CH_FILES[@]}"; do
    [[ -f "solutions/${CH_NAME}/${file}" && -f "${CH_WORK_DIR}/${file}" ]] || return 1
    [[ $(normalised_source "${CH_WORK_DIR}/${file}") == "$(normalised_source "solutions/${CH_NAME}/${file}")" ]] ||
      return 1
  done
  return 0
}

# Grades the chapter chosen with use_chapter: builds its learner test, runs it
# in the sandbox, and sets GR_CODE (passed, failed, crashed, timeout,
# build_failed, missing_files, changed_during_check), GR_FAILURE, GR_TEST_US
# (the test's run only) and GR_BUILD_US. RECORD=1 records a pass in
# progress.tsv (the learner's report); report --grade records nothing.
GR_CODE="" GR_FAILURE="" GR_TEST_US=0 GR_BUILD_US=0 GR_RECORD_ERROR=""
grade_chapter() { # RECORD
  local record=$1 start output rc=0 binary="${BUILD_DIR}/ch${CH_ID}_test_learner" missing fd signal
  GR_FAILURE="" GR_TEST_US=0 GR_BUILD_US=0 GR_RECORD_ERROR=""
  missing=$(learner_missing)
  if [[ -n ${missing} ]]; then
    GR_CODE=missing_files GR_FAILURE="the copy has no ${missing}"
    return 0
  fi
  if [[ -n ${CONFIGURE_FAILED} ]]; then
    GR_CODE=build_failed GR_FAILURE=${CONFIGURE_FAILED}
    return 0
  fi
  take_lock "${BUILD_DIR}/.workbook-check-${CH_ID}.lock" \
    "another check of chapter ${CH_ID} is running in ${BUILD_DIR}; waiting for it to finish..."
  fd=${LOCK_FD}
  CHECK_HASH=$(learner_hash)
  start=$(now_us)
  if ! build_targets "ch${CH_ID}_test_learner" >/dev/null; then
    GR_BUILD_US=$(($(now_us) - start))
    GR_CODE=build_failed
    GR_FAILURE="the copy does not compile:"$'\n'"$(build_errors)"
    release_lock "${fd}"
    return 0
  fi
  GR_BUILD_US=$(($(now_us) - start))
  start=$(now_us)
  output=$("${SANDBOX[@]}" "${binary}" --gtest_brief=1 --gtest_color=no 2>&1) || rc=$?
  GR_TEST_US=$(($(now_us) - start))
  release_lock "${fd}"
  output=${output//"${ROOT}/"/}
  if [[ ${rc} -eq 0 ]]; then
    GR_CODE=passed
  elif [[ ${rc} -eq 124 || (${rc} -eq 137 && ${GR_TEST_US} -ge $((CHECK_TIMEOUT * 1000000))) ]]; then
    GR_CODE=timeout
    GR_FAILURE="the test did not finish within ${CHECK_TIMEOUT} s: something waits forever (a deadlock?)"
  elif [[ ${rc} -gt 128 ]]; then
    GR_CODE=crashed
    signal=$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))
    GR_FAILURE="the test crashed (SIG${signal})"
    if grep -qF 'std::bad_alloc' <<<"${output}"; then
      GR_FAILURE+=": it ran out of memory (the limit is ${SANDBOX_MEMORY})"
    fi
    if [[ -n ${output//[[:space:]]/} ]]; then
      GR_FAILURE+="; its last lines:"$'\n'"$(tail -n 15 <<<"${output}")"
    fi
  else
    GR_CODE=failed
    GR_FAILURE=$(gtest_failures <<<"${output}")
    [[ -n ${GR_FAILURE} ]] || GR_FAILURE=$(tail -n 20 <<<"${output}")
  fi
  if [[ $(learner_hash) != "${CHECK_HASH}" ]]; then
    GR_CODE=changed_during_check
    GR_FAILURE="the copy kept changing while it was checked: its result is not reliable; check it again"
  elif [[ ${GR_CODE} == passed && ${record} -eq 1 ]]; then
    progress_update record_pass || GR_RECORD_ERROR=${PROGRESS_WRITE_ERROR}
  fi
  return 0
}

# A result code in words (the JSON's "status", kept from report version 1).
report_status() { # CODE
  case $1 in
    passed) echo fixed ;;
    failed) echo "pitfall still present" ;;
    build_failed) echo "does not compile" ;;
    timeout) echo "hangs (timed out)" ;;
    crashed) echo crashed ;;
    missing_files) echo "a file of the copy is missing" ;;
    not_started) echo "not started" ;;
    not_built) echo "not in this build tree" ;;
    changed_during_check) echo "changed while checked" ;;
    *) echo "$1" ;;
  esac
}

# ---------------------------------------------------------------------------
# The report's files
# ---------------------------------------------------------------------------

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

# The chapter's signature (from the build tree), or nothing if it is not built.
row_signature() { # ROW
  [[ -z ${G_INDEX[$1]} ]] || printf '%s' "${CHAPTER_SIGNATURES[${G_INDEX[$1]}]}"
}

# join_any SEPARATOR WORDS...: as join, and nothing for no words.
join_any() {
  [[ $# -gt 1 ]] || return 0
  join "$@"
}

# A UTC time of progress.tsv for JSON: the string, or null for "-".
json_time() { # TIME
  if [[ -z $1 || $1 == - ]]; then printf 'null'; else printf '"%s"' "$(json_escape "$1")"; fi
}

# true or false for JSON: whether $1 is 1.
json_bool() { if [[ $1 -eq 1 ]]; then printf true; else printf false; fi; }

# The points row R earned: all of its points if it passed, else 0.
row_score() { # ROW
  if [[ ${G_CODE[$1]} == passed ]]; then printf '%d' "${G_POINTS[$1]}"; else printf 0; fi
}

# The JUnit XML report, on stdout: one test case per graded chapter.
write_junit() {
  local r tests=0 failures=0 total_us=0 message
  for r in "${!G_ID[@]}"; do
    [[ ${G_GRADED[r]} -eq 1 ]] || continue
    tests=$((tests + 1))
    [[ ${G_CODE[r]} == passed ]] || failures=$((failures + 1))
    total_us=$((total_us + G_TEST_US[r]))
  done
  printf '<?xml version="1.0" encoding="UTF-8"?>\n'
  printf '<testsuites name="async-patterns workbook" tests="%d" failures="%d" time="%s">\n' \
    "${tests}" "${failures}" "$(format_seconds "${total_us}")"
  printf '  <testsuite name="workbook" tests="%d" failures="%d" errors="0" skipped="0" time="%s" timestamp="%s">\n' \
    "${tests}" "${failures}" "$(format_seconds "${total_us}")" "$(date -u +%Y-%m-%dT%H:%M:%S)"
  printf '    <properties>\n      <property name="learner" value="%s"/>\n' "$(xml_escape "${LEARNER_ID}")"
  printf '      <property name="mode" value="%s"/>\n    </properties>\n' "${REPORT_MODE}"
  for r in "${!G_ID[@]}"; do
    [[ ${G_GRADED[r]} -eq 1 ]] || continue
    printf '    <testcase classname="workbook.chapters" name="%s" time="%s">\n' \
      "$(xml_escape "${G_ID[r]}-${G_SLUG[r]}")" "$(format_seconds "${G_TEST_US[r]}")"
    if [[ ${G_CODE[r]} != passed ]]; then
      message=$(failure_summary "${G_FAILURE[r]}" "$(row_signature "${r}")")
      printf '      <failure type="%s" message="%s">%s</failure>\n' "${G_CODE[r]}" \
        "$(xml_escape "${message}")" "$(xml_escape "${G_FAILURE[r]}")"
    fi
    printf '    </testcase>\n'
  done
  printf '  </testsuite>\n</testsuites>\n'
}

# The JSON report, on stdout (report version 2; see help_report). Every string
# goes through json_escape, every number is one (progress.tsv is validated
# when it is read).
write_json() {
  local r id separator="" note
  printf '{\n'
  printf '  "workbook": "async-patterns",\n'
  printf '  "report_version": %d,\n' "${REPORT_VERSION}"
  printf '  "mode": "%s",\n' "${REPORT_MODE}"
  printf '  "generated": "%s",\n' "${REPORT_TIME}"
  printf '  "learner": {"id": "%s", "source": "%s"},\n' "$(json_escape "${LEARNER_ID}")" \
    "$(json_escape "${LEARNER_SOURCE}")"
  printf '  "learner_dir": "%s",\n' "$(json_escape "$(show_path "${LEARNER_DIR}")")"
  printf '  "build_dir": "%s",\n' "$(json_escape "${BUILD_DIR}")"
  printf '  "sandbox": {"time_limit_seconds": %d, "memory_limit": "%s", "network": "%s", "notes": [' \
    "${CHECK_TIMEOUT}" "$(json_escape "${SANDBOX_MEMORY}")" "$(json_escape "${SANDBOX_NETWORK}")"
  for note in "${SANDBOX_NOTES[@]}"; do
    printf '%s"%s"' "${separator}" "$(json_escape "${note}")"
    separator=", "
  done
  printf ']},\n'
  # "none": there is no progress file (nothing started), so nothing to seal.
  local seal_state=${SEAL_STATE}
  [[ -f ${PROGRESS_FILE} ]] || seal_state=none
  printf '  "hint_seal": {"state": "%s", "salt": "%s", "since": %s, "origin": "%s", "edited": %s},\n' \
    "${seal_state}" "${SEAL_SALT}" "$(json_time "${SEAL_SINCE}")" "${SEAL_ORIGIN}" \
    "$(json_time "${SEAL_EDITED}")"
  printf '  "progress_problems": %d,\n' "${#PROGRESS_PROBLEMS[@]}"
  printf '  "chapters_total": %d,\n  "started": %d,\n  "fixed": %d,\n' \
    "${#G_ID[@]}" "${REPORT_STARTED}" "${REPORT_FIXED}"
  printf '  "score": %d,\n  "max_score": %d,\n' "${REPORT_SCORE}" "${REPORT_MAX}"
  printf '  "chapters": ['
  separator=""
  for r in "${!G_ID[@]}"; do
    id=${G_ID[r]}
    printf '%s\n    {"id": "%s", "slug": "%s", "title": "%s", "code": "%s", "status": "%s", "passed": %s,' \
      "${separator}" "${id}" "$(json_escape "${G_SLUG[r]}")" "$(json_escape "${G_TITLE[r]}")" \
      "${G_CODE[r]}" "$(report_status "${G_CODE[r]}")" "$([[ ${G_CODE[r]} == passed ]] && json_bool 1 || json_bool 0)"
    printf ' "graded": %s, "points": %d, "max_points": %d,' "$(json_bool "${G_GRADED[r]}")" \
      "$(row_score "${r}")" "${G_POINTS[r]}"
    printf ' "seconds": %s, "build_seconds": %s, "hints_shown": %s, "hints_total": %s,' \
      "$(format_seconds "${G_TEST_US[r]}")" "$(format_seconds "${G_BUILD_US[r]}")" \
      "$(json_number "${P_HINTS[${id}]:-0}")" "$(json_number "${G_NHINTS[r]}")"
    printf ' "started": %s, "first_pass": %s, "last_pass": "%s", "solution_forced": %s,' \
      "$(json_time "${P_STARTED[${id}]:--}")" "$(json_time "${P_FIRST[${id}]:--}")" \
      "$(json_escape "${P_PASS[${id}]:--}")" "$(json_time "${P_FORCED[${id}]:--}")"
    printf ' "last_check": %s,' "$(json_time "${P_LAST_CHECK[${id}]:--}")"
    printf ' "matches_solution": %s, "failure": "%s"}' "$(json_bool "${G_MATCHES[r]}")" \
      "$(json_escape "${G_FAILURE[r]}")"
    separator=","
  done
  printf '\n  ],\n  "predictions": %s\n}\n' "$(json_predictions)"
}

# The Gradescope-style results.json, on stdout: one test per chapter, all of
# its points if it passed, else 0.
write_gradescope() {
  local r separator="" output
  printf '{\n  "score": %d,\n  "max_score": %d,\n' "${REPORT_SCORE}" "${REPORT_MAX}"
  printf '  "output": "%s",\n' "$(json_escape "learner: ${LEARNER_ID:-unknown} (${LEARNER_SOURCE}); graded ${REPORT_TIME}; $(join '; ' "${SANDBOX_NOTES[@]}")")"
  printf '  "tests": ['
  for r in "${!G_ID[@]}"; do
    output="${G_CODE[r]}: $(report_status "${G_CODE[r]}")"
    [[ -z ${G_FAILURE[r]} ]] || output+=$'\n'"${G_FAILURE[r]}"
    printf '%s\n    {"name": "%s", "score": %d, "max_score": %d, "status": "%s", "output": "%s"}' \
      "${separator}" "$(json_escape "${G_ID[r]} ${G_TITLE[r]}")" "$(row_score "${r}")" "${G_POINTS[r]}" \
      "$([[ ${G_CODE[r]} == passed ]] && echo passed || echo failed)" "$(json_escape "${output}")"
    separator=","
  done
  printf '\n  ]\n}\n'
}

# A whole number for JSON: the number, or 0 if it is not one.
json_number() { # TEXT
  if [[ $1 =~ ^[0-9]{1,9}$ ]]; then printf '%d' $((10#$1)); else printf '0'; fi
}

# "2026-01-31T12:00:00Z" as "01-31 12:00"; "-" stays.
short_time() { # TIME
  if [[ $1 =~ ^[0-9]{4}-([0-9]{2}-[0-9]{2})T([0-9]{2}:[0-9]{2}) ]]; then
    printf '%s %s' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
  else
    printf '%s' "${1:--}"
  fi
}

# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------

REPORT_MODE="" REPORT_TIME="" REPORT_STARTED=0 REPORT_FIXED=0 REPORT_SCORE=0 REPORT_MAX=0

cmd_report() {
  local junit="" json="" gradescope="" grade=0 only="" only_arg="" learner="" learner_given=0
  while [[ $# -gt 0 ]]; do
    case $1 in
      --junit | --json | --gradescope | --only | --learner)
        [[ $# -ge 2 && -n $2 && $2 != -* ]] || die 2 "$1 needs a value (see ./workbook report --help)"
        case $1 in
          --junit) junit=$(caller_path "$2") ;;
          --json) json=$(caller_path "$2") ;;
          --gradescope) gradescope=$(caller_path "$2") ;;
          --only) only_arg+=" $2" ;;
          --learner) learner=$2 learner_given=1 ;;
        esac
        shift 2
        ;;
      --grade)
        grade=1
        shift
        ;;
      *) die 2 "unknown argument '$1' for report (see ./workbook report --help)" ;;
    esac
  done
  [[ ${learner_given} -eq 0 || -n ${learner//[[:space:]]/} ]] || die 2 "--learner needs a non-empty id"
  if [[ -n ${only_arg} ]]; then only=$(parse_only "${only_arg}"); fi
  resolve_learner "${learner}"
  ensure_dependencies
  ensure_configured
  detect_sandbox # after configuring: it reads the build tree's settings
  REPORT_TIME=$(utc_now)
  if [[ ${grade} -eq 1 ]]; then
    # Read only: a damaged progress.tsv is reported, not repaired.
    REPORT_MODE=grade
    read_progress
    warn_progress_problems
  else
    REPORT_MODE=check
    load_progress
  fi
  load_graded_rows "${only}"

  note "grading ${#G_ID[@]} chapter(s) of the catalog for ${LEARNER_ID:-an unnamed learner}" \
    "(learner id from ${LEARNER_SOURCE}) in $(show_path "${LEARNER_DIR}")"
  [[ -n ${LEARNER_ID} ]] || note "  (no learner id: give one with --learner ID or WORKBOOK_LEARNER_ID)"
  note "each test runs with: $(join '; ' "${SANDBOX_NOTES[@]}")"
  if [[ ${grade} -eq 1 ]]; then
    note "read-only grading (--grade): nothing in $(show_path "${LEARNER_DIR}") is written"
  fi

  local r n=0 not_recorded="" not_built=() graded matches
  G_CODE=() G_GRADED=() G_TEST_US=() G_BUILD_US=() G_FAILURE=() G_MATCHES=()
  for r in "${!G_ID[@]}"; do
    GR_CODE="" GR_FAILURE="" GR_TEST_US=0 GR_BUILD_US=0 GR_RECORD_ERROR="" graded=1 matches=0
    if [[ -z ${G_INDEX[r]} ]]; then
      GR_CODE=not_built
      GR_FAILURE="chapter ${G_ID[r]} is not built in ${BUILD_DIR} (WORKBOOK_ONLY_CHAPTERS leaves it out, or its directory is missing): nothing was checked"
      not_built+=("${G_ID[r]}")
      [[ ${grade} -eq 1 ]] || graded=0
    else
      use_chapter "${G_INDEX[r]}"
      if ! is_started; then
        GR_CODE=not_started
        GR_FAILURE="not started: $(show_path "${CH_WORK_DIR}") does not exist (./workbook start ${CH_ID})"
      else
        n=$((n + 1))
        note "[${n}] checking $(chapter_label)"
        grade_chapter $((1 - grade))
        [[ -z ${GR_RECORD_ERROR} ]] || not_recorded=${GR_RECORD_ERROR}
        if [[ ${GR_CODE} == passed ]] && copy_is_solution; then matches=1; fi
      fi
    fi
    G_CODE+=("${GR_CODE}") G_GRADED+=("${graded}") G_TEST_US+=("${GR_TEST_US}")
    G_BUILD_US+=("${GR_BUILD_US}") G_FAILURE+=("${GR_FAILURE}") G_MATCHES+=("${matches}")
  done
  if [[ -n ${not_recorded} ]]; then
    error "the passes are not recorded in progress.tsv (${not_recorded}); the report itself is complete"
  fi
  # The passes just recorded (the learner's report) are in the progress now.
  if [[ ${grade} -eq 0 ]]; then read_progress; fi

  local width=0 failures=0 graded_count=0 notes id points
  REPORT_STARTED=0 REPORT_FIXED=0 REPORT_SCORE=0 REPORT_MAX=0
  for r in "${!G_ID[@]}"; do
    ((${#G_TITLE[r]} > width)) && width=${#G_TITLE[r]}
  done
  ((width <= 40)) || width=40
  printf '\n'
  heading "$(printf '%-2s  %-*s  %-20s %6s %7s  %5s  %-11s  %s' '#' "${width}" chapter result points \
    "test s" hints "1st passed" notes)"
  for r in "${!G_ID[@]}"; do
    id=${G_ID[r]}
    points=$(row_score "${r}")
    [[ ${G_CODE[r]} == not_started || ${G_CODE[r]} == not_built ]] || REPORT_STARTED=$((REPORT_STARTED + 1))
    [[ ${G_CODE[r]} != passed ]] || REPORT_FIXED=$((REPORT_FIXED + 1))
    if [[ ${G_GRADED[r]} -eq 1 ]]; then
      graded_count=$((graded_count + 1))
      [[ ${G_CODE[r]} == passed ]] || failures=$((failures + 1))
    fi
    REPORT_SCORE=$((REPORT_SCORE + points)) REPORT_MAX=$((REPORT_MAX + G_POINTS[r]))
    notes=()
    [[ ${G_GRADED[r]} -eq 1 ]] || notes+=("not graded")
    [[ -z ${P_FORCED[${id}]:-} ]] || notes+=("solution --force $(short_time "${P_FORCED[${id}]}")")
    [[ ${G_MATCHES[r]} -eq 0 ]] || notes+=("same as the reference solution")
    printf '%s  %-*s  %-20s %6s %7s  %5s  %-11s  %s\n' "${id}" "${width}" "${G_TITLE[r]:0:${width}}" \
      "${G_CODE[r]}" "${points}/${G_POINTS[r]}" "$(format_seconds "${G_TEST_US[r]}")" \
      "${P_HINTS[${id}]:-0}/${G_NHINTS[r]}" "$(short_time "${P_FIRST[${id}]:--}")" \
      "$(join_any ', ' "${notes[@]}")"
  done
  printf '\n%d started, %d fixed, %d not fixed; %d of %d points\n' "${REPORT_STARTED}" "${REPORT_FIXED}" \
    "${failures}" "${REPORT_SCORE}" "${REPORT_MAX}"
  if [[ ${#not_built[@]} -gt 0 ]]; then
    if [[ ${grade} -eq 1 ]]; then
      note "not built in ${BUILD_DIR}, so counted as not passed: $(join ', ' "${not_built[@]}")"
    else
      note "not built in ${BUILD_DIR} (WORKBOOK_ONLY_CHAPTERS?), so not checked and left out of" \
        "this verdict: $(join ', ' "${not_built[@]}"); report --grade counts them as not passed"
    fi
  fi
  case ${SEAL_STATE} in
    edited) note "the hint counts in $(show_path "${PROGRESS_FILE}") were changed by hand" \
      "(first seen ${SEAL_EDITED}): they do not match the file's seal" ;;
    absent) [[ ! -f ${PROGRESS_FILE} ]] || note "$(show_path "${PROGRESS_FILE}") has no seal over its" \
      "hint counts (written by an older workbook, or the seal line was removed)" ;;
  esac
  [[ ${SEAL_ORIGIN} != adopted ]] ||
    note "the hint counts recorded before ${SEAL_SINCE} predate the seal: they are not vouched for"
  local write_failed=0
  if [[ -n ${junit} ]]; then
    write_report_file "${junit}" "JUnit XML" write_junit || write_failed=1
  fi
  if [[ -n ${json} ]]; then
    write_report_file "${json}" JSON write_json || write_failed=1
  fi
  if [[ -n ${gradescope} ]]; then
    write_report_file "${gradescope}" "Gradescope results.json" write_gradescope || write_failed=1
  fi
  [[ ${graded_count} -gt 0 ]] || note "no chapter was graded: the verdict is 'not passed'"
  [[ ${failures} -eq 0 && ${graded_count} -gt 0 && ${write_failed} -eq 0 ]] || exit 1
}

help_report() {
  cat <<EOF
usage: ./workbook report [--grade] [--only NN[,NN...]] [--learner ID]
                         [--junit FILE] [--json FILE] [--gradescope FILE]

Grades every chapter of the catalog (chapters/catalog.json): builds and runs
the test of each chapter you started against your copy, prints a table (one
line per chapter: its result, points, the test's run time, hints seen, when it
first passed) and writes the results for grading:
  --junit FILE       JUnit XML: one test case per graded chapter
  --json FILE        JSON (report version ${REPORT_VERSION}): per chapter its result code,
                     points, times (started, first and last pass), hints seen,
                     honesty signals; what ./workbook class-report reads
  --gradescope FILE  Gradescope's results.json: {"score", "tests": [{"name",
                     "score", "max_score", "status", "output"}]}
  --grade            read-only grading, for an instructor or an autograder:
                     nothing in the learner folder is written (it may be
                     read-only; a pass is not recorded); chapters not in this
                     build tree count as not passed
  --only NN[,NN]     grade only these chapters (the autograder grades one per test)
  --learner ID       who is graded; else WORKBOOK_LEARNER_ID, else GITHUB_ACTOR
                     (in GitHub Actions), else git config user.email
Each chapter's result is one code: passed, failed, build_failed, crashed,
timeout, missing_files, not_started, not_built, changed_during_check.
A chapter not started counts as not passed. Without --grade, a pass is
recorded in my-work/progress.tsv (as ./workbook check does), and a chapter
this build tree does not hold (WORKBOOK_ONLY_CHAPTERS) is listed but left out
of the verdict.
Your code runs under a time limit (WORKBOOK_CHECK_TIMEOUT, default 60 s), a
memory limit (WORKBOOK_GRADE_MEMORY_MB, default 2048) and without network
where this machine allows it; the report says what was applied
(docs/classroom.md). Points: a chapter's "points" in the catalog, else ${DEFAULT_CHAPTER_POINTS}.
Exits 0 if every graded chapter passes, 1 otherwise (or if nothing was graded).
EOF
}
