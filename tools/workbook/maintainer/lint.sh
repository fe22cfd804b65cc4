# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# Lint (clang-tidy)
# ---------------------------------------------------------------------------

# clang-tidy reads compile commands from a clang configuration of its own
# (configure only, no build; no precompiled headers, which are compiler-specific).
readonly LINT_DIR="build/lint"

lint_configure() {
  local output
  if ! output=$(CXX=clang++ cmake -S . -B "${LINT_DIR}" -G Ninja -DWORKBOOK_PCH=OFF \
    -DCMAKE_EXPORT_COMPILE_COMMANDS=ON 2>&1); then
    printf '%s\n' "${output}" >&2
    return 1
  fi
}

# The sources clang-tidy checks: every C++ source but the compile-fail tests,
# which are meant not to compile.
lint_sources() { source_files | grep '\.cpp$' | grep -v '/compile_fail/' || true; }

# Runs clang-tidy on every source whose result is not cached. A file's result is
# kept under a key made of its content, every header's, and .clang-tidy's, so a
# change to any of them checks it again. FIX=1 applies clang-tidy's fixes.
run_lint() {
  lint_configure || return 1
  local cache="${LINT_DIR}/passed" jobs file key shared todo=() failed=()
  mkdir -p "${cache}" "${LINT_DIR}/logs"
  jobs=$(nproc 2>/dev/null || echo 2)
  # clang-tidy --fix edits the headers a source includes: two at once could
  # both rewrite a shared header. Fixes are applied one file at a time.
  if [[ -n ${FIX:-} ]]; then jobs=1; fi
  shared=$( (
    source_files | grep '\.hpp$' | xargs cat
    cat .clang-tidy
  ) | sha256sum | cut -c1-16)
  while IFS= read -r file; do
    key="$(sha256sum <"${file}" | cut -c1-16)-${shared}"
    [[ -f "${cache}/${key}" && -z ${FIX:-} ]] || todo+=("${file}|${key}")
  done < <(lint_sources)
  note "clang-tidy: $((${#todo[@]})) file(s) to check, the rest unchanged since they passed"
  local entry log running=0
  for entry in "${todo[@]}"; do
    file=${entry%|*} key=${entry#*|}
    log="${LINT_DIR}/logs/${file//\//_}.log"
    (
      if clang-tidy -p "${LINT_DIR}" --quiet ${FIX:+--fix} "${file}" >"${log}" 2>&1 &&
        ! grep -q 'error:' "${log}"; then
        touch "${cache}/${key}"
      fi
    ) &
    running=$((running + 1))
    if [[ ${running} -ge ${jobs} ]]; then
      wait -n || true
      running=$((running - 1))
    fi
  done
  wait || true
  for entry in "${todo[@]}"; do
    file=${entry%|*} key=${entry#*|}
    if [[ ! -f "${cache}/${key}" ]]; then
      failed+=("${file}")
      grep -E 'error:' "${LINT_DIR}/logs/${file//\//_}.log" | grep -v 'warnings treated as errors' || true
    fi
  done
  if [[ ${#failed[@]} -gt 0 ]]; then
    note "clang-tidy found problems in ${#failed[@]} file(s) (above; each names its check)."
    note "fix them by hand, or run ./workbook lint --fix for clang-tidy's own fixes;" \
      ".clang-tidy says which checks are on and why"
    return 1
  fi
}

cmd_lint() {
  case ${1:-} in
    "") ;;
    --fix) FIX=1 ;;
    *) die 2 "unknown argument '$1' (see ./workbook lint --help)" ;;
  esac
  ensure_dependencies
  run_lint || exit 1
}

help_lint() {
  cat <<EOF
usage: ./workbook lint [--fix]

Runs clang-tidy, with the checks listed (and the ones left out explained) in
.clang-tidy, on every C++ source but the compile-fail tests. A file that
passed is not checked again until it, a header or .clang-tidy changes.
--fix applies the fixes clang-tidy knows how to make.
EOF
}
