# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# Chapters
# ---------------------------------------------------------------------------

# Fills the global arrays CHAPTER_* from chapters.tsv, one entry per built
# chapter (the columns are described in cmake/Workbook.cmake).
load_chapters() {
  CHAPTER_IDS=() CHAPTER_SLUGS=() CHAPTER_TITLES=() CHAPTER_SIGNATURES=() CHAPTER_FILES=()
  CHAPTER_BENCHMARKS=() CHAPTER_LEARNER_BUILT=()
  [[ -f ${CHAPTERS_TSV} ]] || die 1 "${CHAPTERS_TSV} is missing: the build did not list the chapters"
  local id slug title signature files benchmark _hints learner
  while IFS=$'\t' read -r id slug title signature files benchmark _hints learner; do
    [[ -n ${id} ]] || continue
    CHAPTER_IDS+=("${id}")
    CHAPTER_SLUGS+=("${slug}")
    CHAPTER_TITLES+=("${title}")
    CHAPTER_SIGNATURES+=("${signature}")
    CHAPTER_FILES+=("${files}")
    CHAPTER_BENCHMARKS+=("${benchmark}")
    CHAPTER_LEARNER_BUILT+=("${learner:-0}")
  done <"${CHAPTERS_TSV}"
  [[ ${#CHAPTER_IDS[@]} -gt 0 ]] || die 1 "no chapters are built (${CHAPTERS_TSV} is empty)"
}

# join SEPARATOR WORDS...: prints the words separated by SEPARATOR.
join() {
  local separator=$1 result=$2
  shift 2
  local word
  for word in "$@"; do result+="${separator}${word}"; done
  printf '%s' "${result}"
}

# Runs one demo binary; on failure says how it failed and returns non-zero.
run_demo() {
  local binary="${BUILD_DIR}/$1" rc=0
  if [[ ! -x ${binary} ]]; then
    printf '%s%s is missing%s: the build did not produce it\n' "${RED}" "${binary}" "${RESET}"
    return 1
  fi
  "${binary}" || rc=$?
  # A pitfall whose symptom is a deadlock is ended by the workbook's watchdog
  # (exit code 86, after its report): that is the demo working, not failing.
  if [[ ${rc} -eq ${DEADLOCK_EXIT_CODE} && $1 == *_demo_pitfall ]]; then
    printf '%s(the watchdog ended the pitfall demo: that deadlock is the symptom)%s\n' "${DIM}" \
      "${RESET}"
    return 0
  fi
  if [[ ${rc} -gt 128 ]]; then
    printf '%s%s was killed by signal SIG%s%s\n' "${RED}" "$1" "$(kill -l $((rc - 128)))" "${RESET}"
  elif [[ ${rc} -ne 0 ]]; then
    printf '%s%s failed with exit code %d%s\n' "${RED}" "$1" "${rc}" "${RESET}"
  fi
  return "${rc}"
}
