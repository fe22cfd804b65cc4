# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# The learner's area
# ---------------------------------------------------------------------------
#
# my-work/NN-slug/<files>   the learner's copy of chapter NN's exercise files
#                           (the catalog's "files"), made by ./workbook start NN
# my-work/progress.tsv      one line per chapter, tab-separated:
#                           chapter, started, last_pass, hints_shown, pass_hash
#                           (times in UTC, "-" for none); then lines kept for
#                           the instructor's report, each starting with a word:
#                           first_pass NN TIME       the chapter's first pass
#                           solution_forced NN TIME  solution --force before a pass
#                           last_check NN TIME       the chapter's last ./workbook check
#                           seal SALT SINCE ORIGIN EDITED HASH   (see seal_digest)
#                           predict NN MEASURE GUESS MEASURED UNIT TIME
#                                         a prediction (./workbook run NN; predict.sh)
#
# Both are plain files outside the build tree: progress survives a rebuild, a
# git pull and a fresh build directory, and a learner may commit them. A
# chapter counts as fixed while its files still hash to pass_hash, the hash
# taken when its check last passed; an edit after that shows as "changed since
# it passed".

# The chapter chosen by use_chapter or select_chapter.
CH_ID="" CH_SLUG="" CH_NAME="" CH_TITLE="" CH_SIGNATURE="" CH_BENCH="" CH_WORK_DIR="" CH_LESSON=""
CH_INDEX=0 CH_FILES=()

use_chapter() { # INDEX
  CH_INDEX=$1
  CH_ID=${CHAPTER_IDS[$1]}
  CH_SLUG=${CHAPTER_SLUGS[$1]}
  CH_NAME="${CH_ID}-${CH_SLUG}"
  CH_TITLE=${CHAPTER_TITLES[$1]}
  CH_SIGNATURE=${CHAPTER_SIGNATURES[$1]}
  CH_BENCH=${CHAPTER_BENCHMARKS[$1]}
  read -r -a CH_FILES <<<"${CHAPTER_FILES[$1]}"
  CH_WORK_DIR="${LEARNER_DIR}/${CH_NAME}"
  CH_LESSON="chapters/${CH_NAME}/README.md"
}

# Selects the chapter a learner named: "01", "1" or "01-blocking-in-coroutines".
select_chapter() { # ARGUMENT
  local wanted=$1 i
  [[ ${wanted} =~ ^[0-9]$ ]] && wanted="0${wanted}"
  for i in "${!CHAPTER_IDS[@]}"; do
    if [[ ${CHAPTER_IDS[i]} == "${wanted}" || "${CHAPTER_IDS[i]}-${CHAPTER_SLUGS[i]}" == "${wanted}" ]]; then
      use_chapter "${i}"
      return 0
    fi
  done
  die 2 "unknown chapter '$1': the chapters are $(join ', ' "${CHAPTER_IDS[@]}")"
}

chapter_label() { printf 'chapter %s · %s' "${CH_ID}" "${CH_TITLE}"; }

# A path as the learner would type it: relative to the repository when inside it.
show_path() {
  local path=$1
  if [[ ${path} == "${ROOT}/"* ]]; then path=${path#"${ROOT}/"}; fi
  printf '%s' "${path}"
}

# A path from the command line, made absolute from the caller's directory.
caller_path() {
  case $1 in
    /*) printf '%s' "$1" ;;
    *) printf '%s/%s' "${CALLER_DIR}" "$1" ;;
  esac
}

is_started() { [[ -d ${CH_WORK_DIR} ]]; }

require_started() {
  is_started || die 1 "$(chapter_label) is not started yet: ./workbook start ${CH_ID} gives you your copy"
}

# Whether a chapter's learner targets match its copy: built (1) when the copy
# is complete, not built (0) when there is none. A copy that misses a file
# cannot be built either way: CMake marks it "missing" (or, before it knew
# how, still lists the targets, which ./workbook then refuses to build), so
# configuring again would change nothing.
learner_targets_stale() {
  local i
  for i in "${!CHAPTER_IDS[@]}"; do
    use_chapter "${i}"
    local built=${CHAPTER_LEARNER_BUILT[i]}
    if ! is_started; then
      [[ ${built} == 0 ]] || return 0
    elif [[ -n $(learner_missing) ]]; then
      [[ ${built} == missing || ${built} == 1 ]] || return 0
    else
      [[ ${built} == 1 ]] || return 0
    fi
  done
  return 1
}

# The chapter's exercise files missing from the learner's copy, separated by spaces.
learner_missing() {
  local file missing=()
  for file in "${CH_FILES[@]}"; do
    [[ -f "${CH_WORK_DIR}/${file}" ]] || missing+=("${file}")
  done
  printf '%s' "${missing[*]}"
}

# What to do about a copy that misses files, in one sentence.
missing_repair() { # MISSING
  printf '%s' "your copy has no $1 (deleted, or new in the catalog since you started):" \
    " ./workbook reset ${CH_ID} --yes puts the broken original back (your copy is kept in" \
    " $(show_path "${LEARNER_DIR}")/.trash/), or copy it from chapters/${CH_NAME}/ to keep your other files"
}

# Stops a command that needs the learner's copy when a file of it is missing.
require_complete() {
  local missing
  missing=$(learner_missing)
  [[ -z ${missing} ]] || die 1 "$(chapter_label): $(missing_repair "${missing}")"
}

# Progress, keyed by chapter id.
declare -A P_STARTED=() P_PASS=() P_HINTS=() P_HASH=()
# For the instructor's report: the first pass, the first solution --force
# before a pass, and the last check (UTC times), keyed by chapter id.
declare -A P_FIRST=() P_FORCED=() P_LAST_CHECK=()
# The seal over the hint counts (see seal_digest): the line's fields as read,
# and SEAL_STATE: ok, edited (the counts or the seal were changed by hand) or
# absent (no seal line: a file from an older workbook, or the line removed).
SEAL_SALT="" SEAL_SINCE="" SEAL_ORIGIN="" SEAL_EDITED="-" SEAL_HASH="" SEAL_STATE=absent
# What read_progress found wrong in progress.tsv, one sentence per bad line.
PROGRESS_PROBLEMS=()
# Set once the problems have been reported, so that a command says it once.
PROGRESS_WARNED=0
# Why the last save_progress (or progress_update) failed, in a few words.
PROGRESS_WRITE_ERROR=""

# A line of progress.tsv as it can be shown: at most 40 characters, control
# characters as '?'.
shown_line() { # LINE
  local text=${1:0:40}
  text=${text//[[:cntrl:]]/?}
  [[ ${#1} -le 40 ]] || text+="..."
  printf "'%s'" "${text}"
}

# Reads progress.tsv into P_*. A line that is not "chapter, started,
# last_pass, hints_shown, pass_hash" is repaired where it can be (a bad field
# gets its "none" value) or dropped (a line that names no chapter); each is
# noted in PROGRESS_PROBLEMS with its line number.
read_progress() {
  P_STARTED=() P_PASS=() P_HINTS=() P_HASH=() PROGRESS_PROBLEMS=()
  P_FIRST=() P_FORCED=() P_LAST_CHECK=() SEAL_SALT="" SEAL_SINCE="" SEAL_ORIGIN="" SEAL_EDITED="-" SEAL_HASH=""
  SEAL_STATE=absent
  P_PREDICTIONS=() # predict.sh
  [[ -e ${PROGRESS_FILE} ]] || return 0
  if [[ ! -f ${PROGRESS_FILE} || ! -r ${PROGRESS_FILE} ]]; then
    PROGRESS_PROBLEMS+=("it cannot be read (not a readable file): your progress is shown as none")
    return 0
  fi
  local line number=0 fields id started pass hints hash time='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
  local -A first_line=()
  while IFS= read -r line || [[ -n ${line} ]]; do
    number=$((number + 1))
    line=${line%$'\r'} # saved with Windows line ends
    [[ -n ${line//[[:space:]]/} && ${line} != \#* ]] || continue
    # Split on tabs only: empty fields stay in place.
    fields=()
    while [[ ${line} == *$'\t'* ]]; do
      fields+=("${line%%$'\t'*}")
      line=${line#*$'\t'}
    done
    fields+=("${line}")
    if [[ ${fields[0]} == predict ]]; then # a prediction (predict.sh)
      progress_read_prediction "${number}" "${fields[@]:1}"
      continue
    fi
    id=${fields[0]}
    # The report's lines (first_pass, solution_forced, last_check, seal): a bad one is dropped.
    if [[ ${id} == first_pass || ${id} == solution_forced || ${id} == last_check || ${id} == seal ]]; then
      read_report_line "${number}" "${time}" "${fields[@]}"
      continue
    fi
    if [[ ! ${id} =~ ^[0-9]{2}$ ]]; then
      PROGRESS_PROBLEMS+=("line ${number}: $(shown_line "${fields[*]}") does not start with a two-digit chapter number: dropped")
      continue
    fi
    if [[ ${#fields[@]} -ne 5 ]]; then
      PROGRESS_PROBLEMS+=("line ${number}: chapter ${id} has ${#fields[@]} tab-separated fields, expected 5 (chapter, started, last_pass, hints_shown, pass_hash): the missing ones are set to none, extra ones dropped")
    fi
    started=${fields[1]:--} pass=${fields[2]:--} hints=${fields[3]:-0} hash=${fields[4]:--}
    if [[ ${started} != - && ! ${started} =~ ${time} ]]; then
      PROGRESS_PROBLEMS+=("line ${number}: chapter ${id}'s started time $(shown_line "${started}") is not a UTC time like 2024-05-01T12:00:00Z: set to -")
      started=-
    fi
    if [[ ${pass} != - && ! ${pass} =~ ${time} ]]; then
      PROGRESS_PROBLEMS+=("line ${number}: chapter ${id}'s last_pass $(shown_line "${pass}") is not a UTC time like 2024-05-01T12:00:00Z: set to -")
      pass=-
    fi
    if [[ ! ${hints} =~ ^[0-9]{1,4}$ ]]; then
      PROGRESS_PROBLEMS+=("line ${number}: chapter ${id}'s hints_shown $(shown_line "${hints}") is not a whole number: set to 0")
      hints=0
    fi
    hints=$((10#${hints}))
    if [[ ${hash} != - && ! ${hash} =~ ^[0-9a-f]{16}$ ]]; then
      PROGRESS_PROBLEMS+=("line ${number}: chapter ${id}'s pass_hash $(shown_line "${hash}") is not 16 hexadecimal digits: set to - (check the chapter again to record its pass)")
      hash=-
    fi
    if [[ -n ${first_line[${id}]:-} ]]; then
      PROGRESS_PROBLEMS+=("line ${number}: chapter ${id} again (first on line ${first_line[${id}]}): this later line is kept")
    fi
    first_line[${id}]=${number}
    P_STARTED[${id}]=${started} P_PASS[${id}]=${pass} P_HINTS[${id}]=${hints} P_HASH[${id}]=${hash}
  done <"${PROGRESS_FILE}"
  if [[ -n ${SEAL_HASH} ]]; then
    SEAL_STATE=ok
    [[ $(seal_digest) == "${SEAL_HASH}" && ${SEAL_EDITED} == - ]] || SEAL_STATE=edited
  fi
}

# One of the report's lines of progress.tsv (read_progress's helper): LINE
# NUMBER, the pattern of a UTC time, then the line's fields.
read_report_line() { # NUMBER TIME_PATTERN FIELDS...
  local number=$1 time=$2
  shift 2
  case $1 in
    first_pass | solution_forced | last_check)
      if [[ $# -ne 3 || ! $2 =~ ^[0-9]{2}$ || ! $3 =~ ${time} ]]; then
        PROGRESS_PROBLEMS+=("line ${number}: $(shown_line "$*") is not '$1<TAB>NN<TAB>UTC time': dropped")
      elif [[ $1 == first_pass ]]; then
        P_FIRST[$2]=$3
      elif [[ $1 == last_check ]]; then
        P_LAST_CHECK[$2]=$3
      else
        P_FORCED[$2]=$3
      fi
      ;;
    seal)
      if [[ $# -ne 6 || ! $2 =~ ^[0-9a-f]{16}$ || ! $3 =~ ${time} || ! $4 =~ ^(new|adopted)$ ||
        ! ($5 == - || $5 =~ ${time}) || ! $6 =~ ^[0-9a-f]{16}$ ]]; then
        # Not a repair: a seal that cannot be read counts as edited.
        SEAL_SALT=$(random_salt) SEAL_SINCE=$(utc_now) SEAL_ORIGIN=adopted SEAL_EDITED=$(utc_now)
        SEAL_HASH=0000000000000000
      else
        SEAL_SALT=$2 SEAL_SINCE=$3 SEAL_ORIGIN=$4 SEAL_EDITED=$5 SEAL_HASH=$6
      fi
      ;;
  esac
}

# The seal over the hint counts: a hash of the seal's salt, its history
# (SINCE, ORIGIN, EDITED) and, per chapter, the hints shown and the first
# solution --force. The tool rewrites it on every save; a count changed by
# hand no longer matches it, and the report says so (and the next save keeps
# the time it was first seen in EDITED, for good). It reveals an edit made in
# an editor; it does not stop someone who reads this function from
# recomputing it (docs/classroom.md says so). SALT is random per progress
# file: two learners whose files share it share one progress file.
seal_digest() {
  local id
  {
    printf 'workbook-seal-1\n%s\n%s\n%s\n%s\n' "${SEAL_SALT}" "${SEAL_SINCE}" "${SEAL_ORIGIN}" "${SEAL_EDITED}"
    for id in $(printf '%s\n' "${!P_HINTS[@]}" "${!P_FORCED[@]}" | sort -u); do
      printf '%s %s %s\n' "${id}" "${P_HINTS[${id}]:-0}" "${P_FORCED[${id}]:--}"
    done
  } | sha256sum | cut -c1-16
}

# 16 random hexadecimal digits.
random_salt() { head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# Sets the seal before a save: a new one (random salt) if the file had none,
# the time an edit was first seen if it does not match, then its hash.
reseal_progress() {
  local now id counted=0
  now=$(utc_now)
  if [[ ${SEAL_STATE} == absent ]]; then
    for id in "${!P_HINTS[@]}"; do [[ ${P_HINTS[${id}]} -eq 0 ]] || counted=1; done
    [[ ${#P_FORCED[@]} -eq 0 ]] || counted=1
    SEAL_SALT=$(random_salt)
    SEAL_SINCE=${now} SEAL_ORIGIN=new SEAL_EDITED=-
    # Counts that were there before the seal are not vouched for.
    [[ ${counted} -eq 0 ]] || SEAL_ORIGIN=adopted
  elif [[ ${SEAL_STATE} == edited && ${SEAL_EDITED} == - ]]; then
    SEAL_EDITED=${now}
  fi
  SEAL_HASH=$(seal_digest)
  SEAL_STATE=ok
  [[ ${SEAL_EDITED} == - ]] || SEAL_STATE=edited
}

# Prints read_progress's findings once per command.
warn_progress_problems() {
  [[ ${#PROGRESS_PROBLEMS[@]} -gt 0 && ${PROGRESS_WARNED} -eq 0 ]] || return 0
  PROGRESS_WARNED=1
  local problem
  error "$(show_path "${PROGRESS_FILE}") is damaged (edited by hand, or a bad merge?):"
  for problem in "${PROGRESS_PROBLEMS[@]}"; do error "  ${problem}"; done
}

# Reads the progress; a damaged file is reported and repaired (its original
# kept in the trash), or, if it cannot be written, read as repaired.
load_progress() {
  read_progress
  [[ ${#PROGRESS_PROBLEMS[@]} -gt 0 ]] || return 0
  warn_progress_problems
  progress_update true ||
    error "  it could not be repaired (${PROGRESS_WRITE_ERROR}): the bad lines are ignored for now"
}

# Puts a copy of the learner's file FILE (a path inside LEARNER_DIR) in a new
# folder of the trash, my-work/.trash/<UTC time>/ (one per command), keeping
# its path; KEPT is the copy's path. Sets PROGRESS_WRITE_ERROR and returns 1 if
# it cannot.
TRASH_DIR="" KEPT=""
keep_in_trash() { # FILE
  local file=$1 relative out
  relative=${file#"${LEARNER_DIR}/"}
  if [[ -z ${TRASH_DIR} ]]; then
    local stamp n=1 dir
    stamp=$(date -u +%Y-%m-%dT%H-%M-%SZ)
    dir="${LEARNER_DIR}/.trash/${stamp}"
    # mkdir without -p claims the folder: two commands in the same second get two.
    mkdir -p -- "${LEARNER_DIR}/.trash" 2>/dev/null || true
    while ! out=$(mkdir -- "${dir}" 2>&1); do
      if [[ ! -e ${dir} ]]; then
        PROGRESS_WRITE_ERROR="cannot make $(show_path "${dir}"): $(failure_reason "${out}")"
        return 1
      fi
      n=$((n + 1))
      dir="${LEARNER_DIR}/.trash/${stamp}-${n}"
    done
    TRASH_DIR=${dir}
  fi
  if ! out=$(mkdir -p -- "$(dirname -- "${TRASH_DIR}/${relative}")" 2>&1) ||
    ! out=$(cp -p -- "${file}" "${TRASH_DIR}/${relative}" 2>&1); then
    PROGRESS_WRITE_ERROR="cannot copy $(show_path "${file}") to the trash: $(failure_reason "${out}")"
    return 1
  fi
  KEPT="${TRASH_DIR}/${relative}"
}

# progress_update FUNCTION ARGS...: under the progress lock, reads
# progress.tsv, lets FUNCTION change P_*, and writes it back. A damaged file
# is reported and its original kept in the trash first. Returns 1, with the
# reason in PROGRESS_WRITE_ERROR, if it could not be written.
progress_update() {
  local out fd rc=0
  PROGRESS_WRITE_ERROR=""
  if [[ ! -d ${LEARNER_DIR} ]] && ! out=$(mkdir -p -- "${LEARNER_DIR}" 2>&1); then
    PROGRESS_WRITE_ERROR="cannot make $(show_path "${LEARNER_DIR}"): $(failure_reason "${out}")"
    return 1
  fi
  take_lock "${LEARNER_DIR}" \
    "another ./workbook command is updating $(show_path "${PROGRESS_FILE}"); waiting for it..."
  fd=${LOCK_FD}
  read_progress
  if [[ ${#PROGRESS_PROBLEMS[@]} -gt 0 ]]; then
    warn_progress_problems
    if keep_in_trash "${PROGRESS_FILE}"; then
      error "  repaired; the original is kept as $(show_path "${KEPT}")"
    else
      rc=1
    fi
  fi
  if [[ ${rc} -eq 0 ]]; then
    "$@"
    save_progress || rc=1
  fi
  release_lock "${fd}"
  return "${rc}"
}

# Gives chapter ID a progress entry if it has none.
progress_touch() { # ID
  P_STARTED[$1]=${P_STARTED[$1]:--}
  P_PASS[$1]=${P_PASS[$1]:--}
  P_HINTS[$1]=${P_HINTS[$1]:-0}
  P_HASH[$1]=${P_HASH[$1]:--}
}

# Writes P_* to progress.tsv (a new file moved over the old one, so that a
# reader never sees half of it). Call it through progress_update, which holds
# the lock. Returns 1, with the reason in PROGRESS_WRITE_ERROR, if it cannot.
save_progress() {
  local tmp="${PROGRESS_FILE}.tmp.$$" ids=() id out
  mapfile -t ids < <(printf '%s\n' "${!P_STARTED[@]}" | sort)
  # The first pass is the first last_pass seen (a reset clears last_pass, not it).
  for id in "${ids[@]}"; do
    [[ -z ${id} || ${P_PASS[${id}]:--} == - || -n ${P_FIRST[${id}]:-} ]] || P_FIRST[${id}]=${P_PASS[${id}]}
  done
  reseal_progress
  if ! out=$({
    {
      printf '# ./workbook progress: one line per chapter (tab-separated; commit it to keep it)\n'
      printf '# chapter\tstarted\tlast_pass\thints_shown\tpass_hash\n'
      for id in "${ids[@]}"; do
        [[ -n ${id} ]] || continue
        printf '%s\t%s\t%s\t%s\t%s\n' "${id}" "${P_STARTED[${id}]}" "${P_PASS[${id}]}" \
          "${P_HINTS[${id}]}" "${P_HASH[${id}]}"
      done
      printf '# for your instructor'"'"'s report (./workbook report); the seal reveals a hand edit\n'
      for id in $(printf '%s\n' "${!P_FIRST[@]}" | sort); do
        printf 'first_pass\t%s\t%s\n' "${id}" "${P_FIRST[${id}]}"
      done
      for id in $(printf '%s\n' "${!P_FORCED[@]}" | sort); do
        printf 'solution_forced\t%s\t%s\n' "${id}" "${P_FORCED[${id}]}"
      done
      for id in $(printf '%s\n' "${!P_LAST_CHECK[@]}" | sort); do
        printf 'last_check\t%s\t%s\n' "${id}" "${P_LAST_CHECK[${id}]}"
      done
      printf 'seal\t%s\t%s\t%s\t%s\t%s\n' "${SEAL_SALT}" "${SEAL_SINCE}" "${SEAL_ORIGIN}" \
        "${SEAL_EDITED}" "${SEAL_HASH}"
      progress_write_predictions # predict.sh
    } >"${tmp}"
  } 2>&1) || ! out=$(mv -f -- "${tmp}" "${PROGRESS_FILE}" 2>&1); then
    rm -f -- "${tmp}" 2>/dev/null || true
    PROGRESS_WRITE_ERROR="cannot write $(show_path "${PROGRESS_FILE}"): $(failure_reason "${out}")"
    return 1
  fi
}

utc_now() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# A short hash of the learner's copy of the chapter's files ("missing" if one is gone).
learner_hash() {
  local file
  for file in "${CH_FILES[@]}"; do
    [[ -f "${CH_WORK_DIR}/${file}" ]] || {
      echo missing
      return
    }
  done
  (cd -- "${CH_WORK_DIR}" && cat -- "${CH_FILES[@]}") | sha256sum | cut -c1-16
}

# The chapter's state: not-started, missing (a file of the copy is gone),
# in-progress, changed (passed, edited since) or fixed.
chapter_state() {
  if ! is_started; then
    echo not-started
  elif [[ -n $(learner_missing) ]]; then
    echo missing
  elif [[ ${P_HASH[${CH_ID}]:--} == - ]]; then
    echo in-progress
  elif [[ ${P_HASH[${CH_ID}]} == "$(learner_hash)" ]]; then
    echo fixed
  else
    echo changed
  fi
}

# A state in words, coloured.
state_words() { # STATE
  case $1 in
    not-started) printf '%snot started%s' "${DIM}" "${RESET}" ;;
    missing) printf '%syour copy has no %s%s (./workbook reset %s --yes restores it)' "${RED}" \
      "$(learner_missing)" "${RESET}" "${CH_ID}" ;;
    in-progress) printf '%spitfall still present%s' "${RED}" "${RESET}" ;;
    changed) printf '%spitfall still present%s (changed since it passed)' "${RED}" "${RESET}" ;;
    fixed) printf '%sfixed%s' "${GREEN}" "${RESET}" ;;
  esac
}

# The index of the first chapter after CH_INDEX (wrapping around) that is not
# fixed, or nothing. Leaves CH_* on the chapter it started from.
next_unfixed_chapter() {
  local from=${CH_INDEX} count=${#CHAPTER_IDS[@]} step i found=""
  for ((step = 1; step < count; step++)); do
    i=$(((from + step) % count))
    use_chapter "${i}"
    if [[ $(chapter_state) != fixed ]]; then
      found=${i}
      break
    fi
  done
  use_chapter "${from}"
  printf '%s' "${found}"
}

# What to do next, as a command: check the first started chapter that is not
# fixed, else start the first one not started.
suggest_next() {
  local i state first_unstarted=""
  for i in "${!CHAPTER_IDS[@]}"; do
    use_chapter "${i}"
    state=$(chapter_state)
    if [[ ${state} == missing ]]; then
      note "next: repair chapter ${CH_ID}: ./workbook reset ${CH_ID} --yes (your copy goes to the trash)" \
        "or copy $(learner_missing) from chapters/${CH_NAME}/"
      return
    fi
    if [[ ${state} == in-progress || ${state} == changed ]]; then
      note "next: ./workbook check ${CH_ID}   (edit $(show_path "${CH_WORK_DIR}")/${CH_FILES[0]})"
      return
    fi
    if [[ ${state} == not-started && -z ${first_unstarted} ]]; then first_unstarted=${i}; fi
  done
  if [[ -n ${first_unstarted} ]]; then
    use_chapter "${first_unstarted}"
    note "next: ./workbook start ${CH_ID}   ($(chapter_label))"
  else
    note "every chapter is fixed: ./workbook bench --all measures them all"
  fi
}

# [#######-----------------------] in WIDTH characters for DONE of TOTAL.
progress_bar() { # DONE TOTAL
  local done=$1 total=$2 width=30 filled
  filled=$((total > 0 ? done * width / total : 0))
  printf '[%s%s%s%s]' "${GREEN}" "$(printf '%*s' "${filled}" '' | tr ' ' '#')" "${RESET}" \
    "$(printf '%*s' $((width - filled)) '' | tr ' ' '-')"
}

# parse_args COMMAND "ALLOWED FLAGS" ARGUMENTS...: sets ARG_CHAPTER (the one
# positional argument, if any) and FLAGS[--flag]=1 for each allowed flag given.
# Anything else is a usage error.
ARG_CHAPTER=""
declare -A FLAGS=()
parse_args() {
  local command=$1 allowed=" $2 " arg
  shift 2
  ARG_CHAPTER="" FLAGS=()
  for arg in "$@"; do
    case ${arg} in
      -*)
        [[ ${allowed} == *" ${arg} "* ]] ||
          die 2 "unknown option '${arg}' for ${command} (see ./workbook ${command} --help)"
        FLAGS[${arg}]=1
        ;;
      *)
        [[ -z ${ARG_CHAPTER} ]] ||
          die 2 "${command} takes one chapter, not '${ARG_CHAPTER}' and '${arg}' (see ./workbook ${command} --help)"
        ARG_CHAPTER=${arg}
        ;;
    esac
  done
}

has_flag() { [[ -n ${FLAGS[$1]:-} ]]; }

require_chapter_arg() { # COMMAND
  [[ -n ${ARG_CHAPTER} ]] || die 2 "$1 needs a chapter number, e.g. ./workbook $1 01 (./workbook list shows them)"
}

no_chapter_arg() { # COMMAND
  [[ -z ${ARG_CHAPTER} ]] || die 2 "$1 takes no chapter (see ./workbook $1 --help)"
}
