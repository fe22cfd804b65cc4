# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# Classroom: class-report (the instructor's), autograding (GitHub Classroom)
# ---------------------------------------------------------------------------
#
# Both read JSON (a class's report --json files; autograding.json), and bash
# cannot parse JSON. CMake can, in script mode (string(JSON)), and CMake is
# already required: the JSON is read by a CMake script that prints one
# tab-separated line per fact, and bash does the rest (times with date(1),
# the tables). Python would read JSON more easily, but it would be one more
# package for every lab machine and container, for two commands.

# ---------------------------------------------------------------------------
# class-report
# ---------------------------------------------------------------------------

# class_report_facts DIR: reads every DIR/*.json and prints, per file, either
#   bad<TAB>FILE<TAB>why
# or
#   report<TAB>FILE<TAB>learner<TAB>generated<TAB>mode<TAB>seal state<TAB>salt<TAB>score<TAB>max<TAB>last check (or -)
#   chapter<TAB>FILE<TAB>id<TAB>code<TAB>hints<TAB>solution forced (time or -)<TAB>matches (1/0)
class_report_facts() {
  cmake_script "-DDIR=$1" "-DVERSION=${REPORT_VERSION}" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
string(ASCII 9 tab)
# A text for one field of a line: no tabs, no line breaks, "-" if empty.
function(field out text)
  string(REGEX REPLACE "[\t\r\n]" " " text "${text}")
  if(text STREQUAL "")
    set(text "-")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()
function(bad name why)
  field(why "${why}")
  message(STATUS "bad\t${name}\t${why}")
endfunction()
file(GLOB files LIST_DIRECTORIES false "${DIR}/*.json")
list(SORT files)
foreach(path IN LISTS files)
  get_filename_component(name "${path}" NAME)
  file(READ "${path}" json)
  string(JSON type ERROR_VARIABLE error TYPE "${json}")
  if(error)
    bad("${name}" "not JSON (${error})")
    continue()
  endif()
  if(NOT type STREQUAL "OBJECT")
    bad("${name}" "not a report: the JSON is a ${type}, not an object")
    continue()
  endif()
  string(JSON workbook ERROR_VARIABLE error GET "${json}" workbook)
  if(error OR NOT workbook STREQUAL "async-patterns")
    bad("${name}" "not a report of this workbook (no \"workbook\": \"async-patterns\")")
    continue()
  endif()
  string(JSON version ERROR_VARIABLE error GET "${json}" report_version)
  if(error)
    bad("${name}" "a report of version 1 (no report_version): the learner must run ./workbook report --json again with this workbook")
    continue()
  endif()
  if(NOT version STREQUAL "${VERSION}")
    bad("${name}" "a report of version ${version}; this workbook reads version ${VERSION}")
    continue()
  endif()
  string(JSON learner ERROR_VARIABLE error GET "${json}" learner id)
  if(error OR learner STREQUAL "")
    bad("${name}" "no learner id: the learner must run ./workbook report --json FILE --learner ID")
    continue()
  endif()
  string(JSON count ERROR_VARIABLE error LENGTH "${json}" chapters)
  if(error)
    bad("${name}" "no list of chapters")
    continue()
  endif()
  set(lines "")
  set(broken "")
  set(last_check "-")
  if(count GREATER 0)
    math(EXPR last "${count} - 1")
    foreach(i RANGE ${last})
      string(JSON id ERROR_VARIABLE e1 GET "${json}" chapters ${i} id)
      string(JSON code ERROR_VARIABLE e2 GET "${json}" chapters ${i} code)
      string(JSON hints ERROR_VARIABLE e3 GET "${json}" chapters ${i} hints_shown)
      if(e1 OR e2 OR e3 OR NOT id MATCHES "^[0-9][0-9]$" OR NOT hints MATCHES "^[0-9]+$")
        set(broken "chapter entry ${i} has no valid id, code or hints_shown")
        break()
      endif()
      string(JSON forced ERROR_VARIABLE e4 GET "${json}" chapters ${i} solution_forced)
      if(e4 OR forced STREQUAL "" OR forced STREQUAL "null")
        set(forced "-")
      endif()
      string(JSON matches ERROR_VARIABLE e5 GET "${json}" chapters ${i} matches_solution)
      if(NOT e5 AND matches)
        set(matches 1)
      else()
        set(matches 0)
      endif()
      # The newest "last_check" of any chapter: the learner's last ./workbook check.
      string(JSON checked ERROR_VARIABLE e6 GET "${json}" chapters ${i} last_check)
      if(NOT e6 AND checked MATCHES "^[0-9]+-[0-9]+-[0-9]+T[0-9:]+Z$" AND checked STRGREATER last_check)
        set(last_check "${checked}")
      endif()
      field(code "${code}")
      field(forced "${forced}")
      list(APPEND lines "chapter\t${name}\t${id}\t${code}\t${hints}\t${forced}\t${matches}")
    endforeach()
  endif()
  if(broken)
    bad("${name}" "${broken}")
    continue()
  endif()
  string(JSON generated ERROR_VARIABLE error GET "${json}" generated)
  if(error)
    set(generated "-")
  endif()
  string(JSON mode ERROR_VARIABLE error GET "${json}" mode)
  if(error)
    set(mode "-")
  endif()
  string(JSON seal ERROR_VARIABLE error GET "${json}" hint_seal state)
  if(error)
    set(seal "-")
  endif()
  string(JSON salt ERROR_VARIABLE error GET "${json}" hint_seal salt)
  if(error OR salt STREQUAL "")
    set(salt "-")
  endif()
  string(JSON score ERROR_VARIABLE error GET "${json}" score)
  string(JSON max ERROR_VARIABLE error2 GET "${json}" max_score)
  if(error OR error2)
    set(score 0)
    set(max 0)
  endif()
  foreach(v learner generated mode seal salt score max last_check)
    field(${v} "${${v}}")
  endforeach()
  message(STATUS "report\t${name}\t${learner}\t${generated}\t${mode}\t${seal}\t${salt}\t${score}\t${max}\t${last_check}")
  foreach(line IN LISTS lines)
    message(STATUS "${line}")
  endforeach()
endforeach()
CMAKE
}

# Seconds since the UTC time TIME ("" if it cannot be read).
seconds_since() { # TIME NOW_EPOCH
  local then
  then=$(date -u -d "$1" +%s 2>/dev/null) || return 0
  printf '%d' $(($2 - then))
}

# 90 -> "2 min", 7200 -> "2 h", 200000 -> "2 d"; "" -> "?"
age_words() { # SECONDS
  local s=$1
  if [[ -z ${s} ]]; then
    printf '?'
  elif ((s < 0)); then
    printf 'in the future'
  elif ((s < 3600)); then
    printf '%d min' $((s / 60))
  elif ((s < 172800)); then
    printf '%d h' $((s / 3600))
  else
    printf '%d d' $((s / 86400))
  fi
}

# "3 h ago" since the learner's last check (the report's last_check, newest of
# its chapters), "never" for a learner who never ran ./workbook check.
last_check_words() { # TIME NOW_EPOCH
  if [[ $1 == - ]]; then
    printf 'never'
    return
  fi
  printf '%s ago' "$(age_words "$(seconds_since "$1" "$2")")"
}

# Text made safe for HTML.
html_escape() {
  local text=$1
  text=${text//&/"&amp;"}
  text=${text//</"&lt;"}
  text=${text//>/"&gt;"}
  text=${text//\"/"&quot;"}
  printf '%s' "${text}"
}

# Text made safe for a Markdown table cell.
md_cell() { local text=${1//|/\\|}; printf '%s' "${text}"; }

# ", 1 hint", ", 3 hints", or nothing for none.
hints_words() { # COUNT
  if [[ $1 -eq 1 ]]; then printf ', 1 hint'; elif [[ $1 -gt 1 ]]; then printf ', %d hints' "$1"; fi
}

# A chapter's result code in the class table's three words.
class_state() { # CODE
  case $1 in
    passed) echo fixed ;;
    not_started | not_built | "") echo "not started" ;;
    *) echo started ;;
  esac
}

cmd_class_report() {
  local dir="" out="" now_text="" arg
  while [[ $# -gt 0 ]]; do
    case $1 in
      --out | --now)
        [[ $# -ge 2 && -n $2 ]] || die 2 "$1 needs a value (see ./workbook class-report --help)"
        if [[ $1 == --out ]]; then out=$(caller_path "$2"); else now_text=$2; fi
        shift 2
        ;;
      -*) die 2 "unknown option '$1' for class-report (see ./workbook class-report --help)" ;;
      *)
        [[ -z ${dir} ]] || die 2 "class-report takes one folder, not '${dir}' and '$1'"
        dir=$(caller_path "$1")
        shift
        ;;
    esac
  done
  [[ -n ${dir} ]] || die 2 "class-report needs the folder of the class's report --json files (see ./workbook class-report --help)"
  [[ -d ${dir} ]] || die 2 "class-report: ${dir} is not a folder"
  out=${out:-${dir}}
  # A new folder for the output is made, as a user would expect of --out.
  mkdir -p -- "${out}" 2>/dev/null || die 1 "class-report: cannot make the folder ${out}: choose one you can write with --out DIR"
  local now
  if [[ -n ${now_text} ]]; then
    now=$(date -u -d "${now_text}" +%s 2>/dev/null) || die 2 "--now: '${now_text}' is not a time (e.g. 2026-01-31T12:00:00Z)"
  else
    now=$(date -u +%s)
  fi

  # The catalog's chapters are the table's columns.
  local cat_ids=() cat_titles=() id slug title _points _hints
  while IFS=$'\t' read -r id slug title _points _hints; do
    [[ -n ${id} && ${id} != error ]] || continue
    cat_ids+=("${id}") cat_titles+=("${title}")
  done < <(catalog_grading)
  [[ ${#cat_ids[@]} -gt 0 ]] || die 1 "chapters/catalog.json lists no chapters"

  local kind file f3 f4 f5 f6 f7 f8 f9 f10
  local bad=() files=() order=()
  local -A learner_of=() generated_of=() mode_of=() seal_of=() salt_of=() score_of=() max_of=()
  local -A checked_of=()
  local -A cell_code=() cell_hints=() cell_forced=() cell_matches=()
  while IFS=$'\t' read -r kind file f3 f4 f5 f6 f7 f8 f9 f10; do
    case ${kind} in
      bad) bad+=("${file}: ${f3}") ;;
      report)
        files+=("${file}")
        learner_of[${file}]=${f3} generated_of[${file}]=${f4} mode_of[${file}]=${f5}
        seal_of[${file}]=${f6} salt_of[${file}]=${f7} score_of[${file}]=${f8} max_of[${file}]=${f9}
        checked_of[${file}]=${f10:--}
        ;;
      chapter)
        cell_code[${file}/${f3}]=${f4} cell_hints[${file}/${f3}]=${f5}
        cell_forced[${file}/${f3}]=${f6} cell_matches[${file}/${f3}]=${f7}
        ;;
    esac
  done < <(class_report_facts "${dir}")

  # One report per learner: the newest (by "generated") is kept, the others named and skipped.
  local -A kept_for=()
  while IFS=$'\t' read -r _ file; do
    [[ -n ${file} ]] || continue
    arg=${learner_of[${file}]}
    if [[ -n ${kept_for[${arg}]:-} ]]; then
      bad+=("${file}: a second report of learner '${arg}' (duplicate learner id): ${kept_for[${arg}]} is newer and is used")
    else
      kept_for[${arg}]=${file}
      order+=("${file}")
    fi
  done < <(for file in "${files[@]}"; do printf '%s\t%s\n' "${generated_of[${file}]}" "${file}"; done | sort -r)
  # The table lists the learners by id.
  mapfile -t order < <(for file in "${order[@]}"; do printf '%s\t%s\n' "${learner_of[${file}]}" "${file}"; done |
    sort | cut -f2)

  # Honesty signals per learner.
  local -A flags_of=() salt_owner=()
  local forced matches
  for file in "${order[@]}"; do
    local flags=()
    [[ ${seal_of[${file}]} != edited ]] || flags+=("hint counts edited by hand")
    [[ ${seal_of[${file}]} != absent ]] || flags+=("hint counts not sealed")
    forced=() matches=()
    for id in "${cat_ids[@]}"; do
      [[ ${cell_forced[${file}/${id}]:--} == - ]] || forced+=("${id}")
      [[ ${cell_matches[${file}/${id}]:-0} -eq 0 ]] || matches+=("${id}")
    done
    [[ ${#forced[@]} -eq 0 ]] || flags+=("solution --force: $(join ', ' "${forced[@]}")")
    [[ ${#matches[@]} -eq 0 ]] || flags+=("copy is the reference solution: $(join ', ' "${matches[@]}")")
    [[ ${mode_of[${file}]} == grade ]] || flags+=("report made by the learner (not --grade)")
    if [[ ${salt_of[${file}]} != - ]]; then
      if [[ -n ${salt_owner[${salt_of[${file}]}]:-} ]]; then
        flags+=("same progress file as ${learner_of[${salt_owner[${salt_of[${file}]}]}]}")
        local other=${salt_owner[${salt_of[${file}]}]}
        flags_of[${other}]+="; same progress file as ${learner_of[${file}]}"
      else
        salt_owner[${salt_of[${file}]}]=${file}
      fi
    fi
    flags_of[${file}]="$(join_any '; ' "${flags[@]}")${flags_of[${file}]:-}"
  done

  # The per-chapter summary.
  local -A n_fixed=() n_stuck=() n_none=() hints_sum=() stuck_codes=()
  local code state
  for id in "${cat_ids[@]}"; do
    n_fixed[${id}]=0 n_stuck[${id}]=0 n_none[${id}]=0 hints_sum[${id}]=0 stuck_codes[${id}]=""
    for file in "${order[@]}"; do
      code=${cell_code[${file}/${id}]:-}
      state=$(class_state "${code}")
      hints_sum[${id}]=$((hints_sum[${id}] + ${cell_hints[${file}/${id}]:-0}))
      case ${state} in
        fixed) n_fixed[${id}]=$((n_fixed[${id}] + 1)) ;;
        started)
          n_stuck[${id}]=$((n_stuck[${id}] + 1))
          stuck_codes[${id}]+="${code} "
          ;;
        *) n_none[${id}]=$((n_none[${id}] + 1)) ;;
      esac
    done
  done
  # "failed 3, build_failed 1": the codes of the learners stuck on a chapter, commonest first.
  stuck_words() { # ID
    [[ -n ${stuck_codes[$1]} ]] || return 0
    tr ' ' '\n' <<<"${stuck_codes[$1]}" | sed '/^$/d' | sort | uniq -c | sort -k1,1nr -k2 |
      awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }'
  }

  local generated_at md html cell age i
  generated_at=$(date -u -d "@${now}" +%Y-%m-%dT%H:%M:%SZ)
  md="${out}/class-report.md" html="${out}/class-report.html"
  {
    printf '# Class report\n\n'
    printf 'Made %s from %d report(s) in `%s` (%d learner(s); %d file(s) skipped).\n\n' "${generated_at}" \
      $((${#order[@]} + ${#bad[@]})) "$(show_path "${dir}")" "${#order[@]}" "${#bad[@]}"
    printf 'A cell: **fixed**, started (not fixed yet) or not started, and the hints the learner used.\n\n'
    printf '| learner | score | last check |'
    for id in "${cat_ids[@]}"; do printf ' %s |' "${id}"; done
    printf ' signals |\n|---|---|---|'
    for id in "${cat_ids[@]}"; do printf -- '---|'; done
    printf -- '---|\n'
    for file in "${order[@]}"; do
      age=$(last_check_words "${checked_of[${file}]}" "${now}")
      printf '| %s | %s/%s | %s |' "$(md_cell "${learner_of[${file}]}")" "${score_of[${file}]}" \
        "${max_of[${file}]}" "${age}"
      for id in "${cat_ids[@]}"; do
        state=$(class_state "${cell_code[${file}/${id}]:-}")
        cell=${state}
        [[ ${state} != fixed ]] || cell="**fixed**"
        [[ ${state} != "not started" ]] || cell="not started"
        cell+=$(hints_words "${cell_hints[${file}/${id}]:-0}")
        printf ' %s |' "${cell}"
      done
      printf ' %s |\n' "$(md_cell "${flags_of[${file}]:-}")"
    done
    printf '\n## Per chapter: where learners are stuck\n\n'
    printf '| chapter | fixed | started, not fixed | not started | hints used | stuck with |\n'
    printf '|---|---|---|---|---|---|\n'
    for i in "${!cat_ids[@]}"; do
      id=${cat_ids[i]}
      printf '| %s %s | %d | %d | %d | %d | %s |\n' "${id}" "$(md_cell "${cat_titles[i]}")" "${n_fixed[${id}]}" \
        "${n_stuck[${id}]}" "${n_none[${id}]}" "${hints_sum[${id}]}" "$(stuck_words "${id}")"
    done
    if [[ ${#bad[@]} -gt 0 ]]; then
      printf '\n## Skipped files\n\n'
      for arg in "${bad[@]}"; do printf -- '- %s\n' "$(md_cell "${arg}")"; done
    fi
  } >"${md}.tmp.$$" 2>/dev/null || {
    rm -f -- "${md}.tmp.$$" 2>/dev/null || true
    die 1 "class-report: cannot write ${md}: choose a folder you can write with --out DIR"
  }
  mv -f -- "${md}.tmp.$$" "${md}"
  {
    printf '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Class report</title>\n'
    printf '<style>body{font-family:sans-serif}table{border-collapse:collapse;margin:1em 0}'
    printf 'td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}'
    printf '.fixed{background:#d7f5d7}.started{background:#fff3c4}.none{color:#888}</style></head><body>\n'
    printf '<h1>Class report</h1>\n<p>Made %s from %d report(s) in <code>%s</code> (%d learner(s); %d file(s) skipped).</p>\n' \
      "${generated_at}" $((${#order[@]} + ${#bad[@]})) "$(html_escape "$(show_path "${dir}")")" "${#order[@]}" "${#bad[@]}"
    printf '<table>\n<tr><th>learner</th><th>score</th><th>last check</th>'
    for i in "${!cat_ids[@]}"; do
      printf '<th title="%s">%s</th>' "$(html_escape "${cat_titles[i]}")" "${cat_ids[i]}"
    done
    printf '<th>signals</th></tr>\n'
    for file in "${order[@]}"; do
      age=$(last_check_words "${checked_of[${file}]}" "${now}")
      printf '<tr><td>%s</td><td>%s/%s</td><td>%s</td>' "$(html_escape "${learner_of[${file}]}")" \
        "${score_of[${file}]}" "${max_of[${file}]}" "${age}"
      for id in "${cat_ids[@]}"; do
        code=${cell_code[${file}/${id}]:-}
        state=$(class_state "${code}")
        local class=none
        [[ ${state} != fixed ]] || class=fixed
        [[ ${state} != started ]] || class=started
        cell=${state}
        cell+=$(hints_words "${cell_hints[${file}/${id}]:-0}")
        printf '<td class="%s" title="%s">%s</td>' "${class}" "$(html_escape "${code:-no entry}")" "${cell}"
      done
      printf '<td>%s</td></tr>\n' "$(html_escape "${flags_of[${file}]:-}")"
    done
    printf '</table>\n<h2>Per chapter: where learners are stuck</h2>\n<table>\n'
    printf '<tr><th>chapter</th><th>fixed</th><th>started, not fixed</th><th>not started</th><th>hints used</th><th>stuck with</th></tr>\n'
    for i in "${!cat_ids[@]}"; do
      id=${cat_ids[i]}
      printf '<tr><td>%s %s</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%s</td></tr>\n' "${id}" \
        "$(html_escape "${cat_titles[i]}")" "${n_fixed[${id}]}" "${n_stuck[${id}]}" "${n_none[${id}]}" \
        "${hints_sum[${id}]}" "$(stuck_words "${id}")"
    done
    printf '</table>\n'
    if [[ ${#bad[@]} -gt 0 ]]; then
      printf '<h2>Skipped files</h2>\n<ul>\n'
      for arg in "${bad[@]}"; do printf '<li>%s</li>\n' "$(html_escape "${arg}")"; done
      printf '</ul>\n'
    fi
    printf '</body></html>\n'
  } >"${html}.tmp.$$" 2>/dev/null || {
    rm -f -- "${html}.tmp.$$" 2>/dev/null || true
    die 1 "class-report: cannot write ${html}: choose a folder you can write with --out DIR"
  }
  mv -f -- "${html}.tmp.$$" "${html}"

  for arg in "${bad[@]}"; do error "skipped ${arg}"; done
  note "class report of ${#order[@]} learner(s): ${md}"
  note "                       and as HTML: ${html}"
  [[ ${#order[@]} -gt 0 ]] || die 1 "no usable report in $(show_path "${dir}"): the table is empty"
}

help_class_report() {
  cat <<EOF
usage: ./workbook class-report DIR [--out DIR] [--now TIME]

For instructors: reads a class's reports (the files ./workbook report --json
FILE wrote, one per learner, all in DIR as *.json) and writes one table,
DIR/class-report.md and DIR/class-report.html (--out puts them elsewhere):
per learner, each chapter as fixed, started or not started with the hints
used, the score, the time since the learner's last ./workbook check (of any
chapter; "never" if none), and the honesty signals (hint counts edited,
solution --force, a copy that is the reference solution, two learners with
one progress file);
then per chapter how many learners fixed it, are stuck on it (and with
what), or have not started it.
A file that is not JSON, a report of another version, one without a learner
id, and a second report of the same learner (the newest is kept) are named
and skipped; none stops the report. --now TIME (UTC) fixes "now" for the ages.
Exits 0 once the table is written, 1 if no report could be used.
EOF
}

# ---------------------------------------------------------------------------
# autograding (GitHub Classroom)
# ---------------------------------------------------------------------------

readonly AUTOGRADING_FILE=".github/classroom/autograding.json"
# Minutes a chapter's autograding test may take (GitHub Classroom counts in
# minutes): a fresh runner builds the chapter's test before running it.
readonly AUTOGRADING_MINUTES=10

# GitHub Classroom's autograding.json for the catalog CATALOG, on stdout: one
# test per chapter, whose command exits 0 only when that chapter passes.
autograding_json() { # CATALOG
  local id slug title points _hints separator="" problems=()
  printf '{\n  "tests": ['
  while IFS=$'\t' read -r id slug title points _hints; do
    [[ -n ${id} ]] || continue
    if [[ ${id} == error ]]; then
      problems+=("${slug}")
      continue
    fi
    printf '%s\n    {\n' "${separator}"
    printf '      "name": "%s",\n' "$(json_escape "${id} ${title}")"
    printf '      "setup": "",\n'
    printf '      "run": "./workbook report --grade --only %s",\n' "${id}"
    printf '      "input": "",\n      "output": "",\n      "comparison": "included",\n'
    printf '      "timeout": %d,\n      "points": %d\n    }' "${AUTOGRADING_MINUTES}" "${points}"
    separator=","
  done < <(catalog_grading "$1")
  printf '\n  ]\n}\n'
  if [[ ${#problems[@]} -gt 0 ]]; then
    error "$(show_path "$1"): $(join '; ' "${problems[@]}")"
    return 1
  fi
}

# autograding_tests FILE: the tests of an autograding.json, one per line, the
# fields name, setup, run, input, output, comparison, timeout, points
# separated by the unit separator (character 31: a field may be empty, and
# read would merge the empty fields between tabs), with backslashes and line
# breaks escaped for printf %b; "error<US>why" if the file cannot be read.
autograding_tests() {
  cmake_script "-DFILE=$1" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
string(ASCII 31 us)
if(NOT EXISTS "${FILE}")
  message(STATUS "error${us}${FILE} does not exist")
  return()
endif()
file(READ "${FILE}" json)
string(JSON count ERROR_VARIABLE error LENGTH "${json}" tests)
if(error)
  string(REGEX REPLACE "[\t\r\n]" " " error "${error}")
  message(STATUS "error${us}not an autograding.json with a list of tests: ${error}")
  return()
endif()
if(count EQUAL 0)
  return()
endif()
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  set(line "")
  foreach(key name setup run input output comparison timeout points)
    string(JSON value ERROR_VARIABLE error GET "${json}" tests ${i} ${key})
    if(error)
      set(value "")
    endif()
    string(REPLACE "\\" "\\\\" value "${value}")
    string(REPLACE "\n" "\\n" value "${value}")
    string(REGEX REPLACE "[\r${us}]" " " value "${value}")
    string(APPEND line "${value}${us}")
  endforeach()
  message(STATUS "${line}")
endforeach()
CMAKE
}

# Runs the tests of an autograding.json the way GitHub Classroom's runner
# (education/autograding) does: each test's setup, then its run, through
# sh -c from the repository's root, with only PATH and FORCE_COLOR in the
# environment (and the WORKBOOK_* variables, so that a maintainer can point it
# at another tree), its input on stdin, killed after its timeout (minutes);
# without input and output a test passes when its run exits 0, else its
# output is compared (included, exact or regex). The points of the tests that
# pass are summed.
autograding_run() { # FILE
  local file=$1 name setup run input output comparison timeout points
  local total=0 earned=0 passed=0 failed=0 n=0 rc got env_vars=() var line
  for var in $(compgen -e); do
    [[ ${var} != WORKBOOK_* ]] || env_vars+=("${var}=${!var}")
  done
  local tests=()
  mapfile -t tests < <(autograding_tests "${file}")
  if [[ ${#tests[@]} -gt 0 && ${tests[0]} == error$'\x1f'* ]]; then
    die 1 "$(show_path "${file}"): ${tests[0]#error$'\x1f'}"
  fi
  [[ ${#tests[@]} -gt 0 ]] || die 1 "$(show_path "${file}") has no tests"
  for line in "${tests[@]}"; do
    IFS=$'\x1f' read -r name setup run input output comparison timeout points _ <<<"${line}"
    n=$((n + 1))
    [[ ${timeout} =~ ^[0-9]+$ && ${timeout} -gt 0 ]] || timeout=1 # the runner's default: 1 minute
    [[ ${points} =~ ^[0-9]+$ ]] || points=0
    total=$((total + points))
    heading "[${n}/${#tests[@]}] ${name} (${points} points, at most ${timeout} min)"
    note "  run: ${run}"
    rc=0
    if [[ -n ${setup} ]]; then
      env -i PATH="${PATH}" FORCE_COLOR=true "${env_vars[@]}" \
        timeout --kill-after=5 $((timeout * 60)) sh -c "${setup}" </dev/null 2>&1 | sed 's/^/    /' ||
        rc=${PIPESTATUS[0]}
    fi
    got=""
    if [[ ${rc} -eq 0 ]]; then
      got=$(printf '%b' "${input}" | env -i PATH="${PATH}" FORCE_COLOR=true "${env_vars[@]}" \
        timeout --kill-after=5 $((timeout * 60)) sh -c "${run}" 2>&1) || rc=$?
      sed 's/^/    /' <<<"${got}" | tail -n 30
    fi
    if [[ ${rc} -eq 0 && (-n ${output} || -n ${input}) ]]; then
      output=$(printf '%b' "${output}")
      case ${comparison} in
        exact) [[ ${got} == "${output}" ]] || rc=1 ;;
        regex) [[ ${got} =~ ${output} ]] || rc=1 ;;
        *) [[ ${got} == *"${output}"* ]] || rc=1 ;;
      esac
    fi
    if [[ ${rc} -eq 0 ]]; then
      passed=$((passed + 1)) earned=$((earned + points))
      printf '  %s %s\n' "$(verdict 0)" "${name}"
    else
      failed=$((failed + 1))
      if [[ ${rc} -eq 124 || ${rc} -eq 137 ]]; then
        printf '  %s %s: timed out after %d min\n' "$(verdict 1)" "${name}" "${timeout}"
      else
        printf '  %s %s (exit code %d)\n' "$(verdict 1)" "${name}" "${rc}"
      fi
    fi
  done
  printf '\n%d of %d tests passed\nPoints %d/%d\n' "${passed}" "${n}" "${earned}" "${total}"
  [[ ${failed} -eq 0 ]]
}

cmd_autograding() {
  local mode=print catalog="${ROOT}/chapters/catalog.json" file="${ROOT}/${AUTOGRADING_FILE}"
  while [[ $# -gt 0 ]]; do
    case $1 in
      --write | --check | --run) mode=${1#--} && shift ;;
      --catalog | --file)
        [[ $# -ge 2 && -n $2 ]] || die 2 "$1 needs a file name (see ./workbook autograding --help)"
        if [[ $1 == --catalog ]]; then catalog=$(caller_path "$2"); else file=$(caller_path "$2"); fi
        shift 2
        ;;
      *) die 2 "unknown argument '$1' for autograding (see ./workbook autograding --help)" ;;
    esac
  done
  [[ -f ${catalog} ]] || die 2 "autograding: the catalog ${catalog} does not exist"
  local text
  if [[ ${mode} != run ]]; then
    text=$(autograding_json "${catalog}") || die 1 "the catalog cannot be turned into autograding tests"
  fi
  case ${mode} in
    print) printf '%s\n' "${text}" ;;
    write)
      local out
      mkdir -p -- "$(dirname -- "${file}")" 2>/dev/null || true
      if ! out=$({ printf '%s\n' "${text}" >"${file}.tmp.$$"; } 2>&1) ||
        ! out=$(mv -f -- "${file}.tmp.$$" "${file}" 2>&1); then
        rm -f -- "${file}.tmp.$$" 2>/dev/null || true
        die 1 "cannot write ${file}: $(failure_reason "${out}")"
      fi
      note "wrote $(show_path "${file}"): $(grep -c '"run":' "${file}") tests, one per chapter of $(show_path "${catalog}")"
      ;;
    check)
      [[ -f ${file} ]] || die 1 "$(show_path "${file}") does not exist: ./workbook autograding --write makes it"
      if [[ $(cat -- "${file}") == "${text}" ]]; then
        note "$(show_path "${file}") matches $(show_path "${catalog}"): one test per chapter"
        return 0
      fi
      local want have id
      want=$(sed -n 's/.*--only \([0-9][0-9]\)".*/\1/p' <<<"${text}" | sort)
      have=$(sed -n 's/.*--only \([0-9][0-9]\)".*/\1/p' -- "${file}" | sort)
      error "$(show_path "${file}") does not match $(show_path "${catalog}"):"
      for id in $(comm -23 <(printf '%s\n' "${want}") <(printf '%s\n' "${have}")); do
        error "  chapter ${id} is in the catalog but has no autograding test"
      done
      for id in $(comm -13 <(printf '%s\n' "${want}") <(printf '%s\n' "${have}")); do
        error "  chapter ${id} has an autograding test but is not in the catalog"
      done
      if [[ ${want} == "${have}" ]]; then
        error "  the same chapters, but a name, command, timeout or points differ"
      fi
      die 1 "regenerate it: ./workbook autograding --write (and commit it)"
      ;;
    run) autograding_run "${file}" ;;
  esac
}

help_autograding() {
  cat <<EOF
usage: ./workbook autograding [--write | --check | --run] [--catalog FILE] [--file FILE]

GitHub Classroom's autograding tests, ${AUTOGRADING_FILE}: one test per
chapter of the catalog, worth the chapter's points, whose command is
./workbook report --grade --only NN (it exits 0 only when chapter NN passes).
  (nothing)  print the file the catalog makes
  --write    write it (maintainers: after changing chapters/catalog.json)
  --check    exit 1, naming the chapters that differ, if the committed file
             does not match the catalog (a ctest test runs this)
  --run      run the file's tests the way GitHub Classroom's runner does:
             setup and run through sh -c with only PATH (and WORKBOOK_*) in
             the environment, each under its timeout in minutes; prints the
             points earned, exits 1 if a test failed
--catalog and --file read another catalog or autograding.json.
EOF
}
