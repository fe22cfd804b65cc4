# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# test: the stages of ./workbook test
# ---------------------------------------------------------------------------

help_test() {
  cat <<EOF
usage: ./workbook test [--full] [-- CTEST-ARGUMENTS]

Installs the build dependencies if needed, builds the workbook, then runs
these stages in one build tree (${BUILD_DIR}; WORKBOOK_BUILD_DIR chooses
another) and prints how long each took:
  build    every chapter's exercise, fix, tests and demos
  format   the C++ sources must match .clang-format (./workbook format fixes
           them); the tool's shell scripts must pass shellcheck
  ctest    the test suite on every core, with the test preset ${PRESET}'s
           options: unit tests, every chapter's fix (must pass) and pitfall
           (must fail with its signature), demos, compile-fail tests, the
           tool's own end-to-end tests (chapter 01's benchmark among them);
           not the wrong-fix galleries (label wrong-fix), the benchmarks'
           smoke runs and the slower tests (label full-only): --full runs them
With --full (what CI runs), also:
  build    the wrong-fix galleries and every benchmark program too
           (targets galleries and benchmark_programs)
  lint     clang-tidy with the checks in .clang-tidy (./workbook lint; results
           are cached per file, so only changed files are checked again)
  docs     the documentation site; Doxygen warnings are errors, every code
           block a lesson quotes must match its source (./workbook snippets)
           and no link may lead to a missing chapter, file or anchor
  ctest    with the wrong-fix galleries (every wrong fix must fail with the
           message its entry names, every alternative must pass), the
           benchmarks' smoke runs and the tests labelled full-only
  clang    build and test with clang++ 16 (warnings are errors there too)
  asan     AddressSanitizer + UndefinedBehaviorSanitizer: foundation and solutions
  tsan     ThreadSanitizer: foundation and solutions
  fuzz     the libFuzzer targets, FUZZ_SECONDS (default 30) each
  browser  the documentation site and its student edition (without the
           fixes), every page opened in headless Chromium: no broken link,
           image or quote, no markup shown as text, no fix in the student
           edition (./workbook docs --check)
  flaky    every test FLAKY_REPEAT (default 100) times (see ./workbook flaky)
Arguments after -- are passed to ctest, e.g.:
  ./workbook test -- -R harness      only the tests whose name matches "harness"
Exits 0 only if every stage passes.
EOF
}


# The results of the stages run by cmd_test, in order.
STAGE_NAMES=() STAGE_TIMES=() STAGE_RESULTS=()

# run_stage NAME FUNCTION ARGS...: runs FUNCTION and records its time and result.
run_stage() {
  local name=$1 start rc=0
  shift
  printf '\n'
  heading "── ${name} ──"
  start=$(now_us)
  "$@" || rc=$?
  STAGE_NAMES+=("${name}")
  STAGE_TIMES+=("$(format_seconds $(($(now_us) - start)))")
  STAGE_RESULTS+=("${rc}")
  return "${rc}"
}

# The build; with "full", the wrong-fix galleries and the benchmark programs
# too (outside "all": the quick test and a learner's first check do not wait
# for them).
stage_build() { # MODE
  ensure_built
  [[ ${1:-quick} == full ]] || return 0
  local rc=0 fd
  lock_build_tree
  fd=${LOCK_FD}
  cmake --build "${BUILD_DIR}" --target galleries benchmark_programs || rc=$?
  release_lock "${fd}"
  [[ ${rc} -eq 0 ]] || die 1 "the build of the galleries and benchmarks failed: see the compiler messages above"
}

stage_format() {
  local findings rc=0
  findings=$(unformatted_files) || rc=$?
  if [[ ${rc} -ne 0 ]]; then
    note "clang-format failed (see above)"
    return 1
  fi
  if [[ -n ${findings} ]]; then
    local files=()
    mapfile -t files <<<"${findings}"
    note "these files do not follow .clang-format:"
    printf '  %s\n' "${files[@]}"
    note "run ./workbook format to fix"
    return 1
  fi
  note "$(source_files | wc -l) files follow .clang-format"
  check_shell_scripts
}

# The tool's own shell scripts, checked with shellcheck (following what
# ./workbook sources).
shell_scripts() {
  printf '%s\n' workbook .ci/run tests/workbook/*.sh
}

check_shell_scripts() {
  local scripts=()
  mapfile -t scripts < <(shell_scripts)
  if ! command -v shellcheck >/dev/null 2>&1; then
    note "shellcheck is not installed: ./workbook doctor says how to install it"
    return 1
  fi
  # A run takes seconds (./workbook with what it sources is one long program):
  # a pass is remembered, keyed by the scripts' contents and the version of
  # the checker, and the next run with the same key skips it.
  local sourced=() key stamp="${BUILD_DIR}/shellcheck.passed"
  mapfile -t sourced < <(find tools/workbook -name '*.sh' | sort)
  key=$({
    shellcheck --version
    sha256sum -- "${scripts[@]}" "${sourced[@]}"
  } | sha256sum | cut -d' ' -f1)
  local summary="${#scripts[@]} shell scripts (and the ${#sourced[@]} files ./workbook sources) pass shellcheck"
  if [[ -f ${stamp} && $(<"${stamp}") == "${key}" ]]; then
    note "${summary} (unchanged since it last passed)"
    return 0
  fi
  if ! shellcheck -x "${scripts[@]}"; then
    note "shellcheck found problems in the tool's scripts (above)"
    return 1
  fi
  mkdir -p -- "${BUILD_DIR}" && printf '%s\n' "${key}" >"${stamp}" || true
  note "${summary}"
}

# Every stage works in BUILD_DIR, the tree the build stage built (a preset
# would name its own binaryDir and ignore WORKBOOK_BUILD_DIR).
stage_docs() {
  local rc=0 fd
  lock_build_tree
  fd=${LOCK_FD}
  cmake --build "${BUILD_DIR}" --target docs || rc=$?
  release_lock "${fd}"
  return "${rc}"
}

stage_lint() { run_lint; }

stage_flaky() { run_flakiness_meter "$1"; }

# Configures (first time), builds and tests one of the other presets (clang,
# asan, tsan); their test presets choose which tests run.
stage_preset() { # PRESET
  stage_preset_build "$1" && with_postgres ctest --preset "$1"
}

# Builds the libFuzzer targets and runs each for FUZZ_SECONDS (default 30) on a
# fresh copy of its seed corpus (tests/fuzz/corpus/<name>; the repository's
# corpus is never written to).
stage_fuzz() {
  stage_preset_build fuzz || return 1
  local seconds=${FUZZ_SECONDS:-30} binary name work rc=0
  for binary in build/fuzz/tests/*_fuzz; do
    [[ -x ${binary} ]] || continue
    name=$(basename "${binary}" _fuzz)
    work="build/fuzz/corpus-${name}"
    rm -rf "${work}" && mkdir -p "${work}"
    cp tests/fuzz/corpus/"${name}"/* "${work}/"
    note "fuzzing ${name} for ${seconds} s (seed corpus: tests/fuzz/corpus/${name})"
    if ! "${binary}" -max_total_time="${seconds}" -timeout=5 -print_final_stats=1 "${work}" \
      >"build/fuzz/${name}.log" 2>&1; then
      tail -n 40 "build/fuzz/${name}.log"
      note "the ${name} fuzzer found a failing input: see build/fuzz/${name}.log (the input is saved as crash-*)"
      rc=1
    else
      grep -E '^(Done|stat::number_of_executed_units)' "build/fuzz/${name}.log" || true
    fi
  done
  return "${rc}"
}

stage_preset_build() { # PRESET
  local preset=$1 output
  if [[ ! -f "build/${preset}/build.ninja" ]]; then
    if ! output=$(cmake --preset "${preset}" 2>&1); then
      printf '%s\n' "${output}" >&2
      return 1
    fi
  fi
  cmake --build --preset "${preset}"
}

# The options of the test preset named PRESET in CMakePresets.json (following
# "inherits"), one per line: "arg<TAB>ctest argument" or "env<TAB>NAME=VALUE".
# Read are the fields the presets use: output.outputOnFailure,
# execution.noTestsAction and jobs, filter.include.label, environment.
test_preset_options() {
  cmake_script "-DPRESETS=${ROOT}/CMakePresets.json" "-DPRESET=${PRESET}" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
file(READ "${PRESETS}" json)
string(JSON count ERROR_VARIABLE error LENGTH "${json}" testPresets)
if(error)
  return()
endif()
math(EXPR last "${count} - 1")
set(chain "${PRESET}")
set(done "")
set(output "")
set(tests "")
set(jobs "")
set(label "")
set(env "")
while(chain)
  list(POP_FRONT chain name)
  if(name IN_LIST done)
    continue()
  endif()
  list(APPEND done "${name}")
  foreach(i RANGE ${last})
    string(JSON n GET "${json}" testPresets ${i} name)
    if(NOT n STREQUAL name)
      continue()
    endif()
    # The nearer preset's value wins: set only what is still unset.
    string(JSON v ERROR_VARIABLE e GET "${json}" testPresets ${i} output outputOnFailure)
    if(NOT e AND output STREQUAL "")
      set(output "${v}")
    endif()
    string(JSON v ERROR_VARIABLE e GET "${json}" testPresets ${i} execution noTestsAction)
    if(NOT e AND tests STREQUAL "")
      set(tests "${v}")
    endif()
    string(JSON v ERROR_VARIABLE e GET "${json}" testPresets ${i} execution jobs)
    if(NOT e AND jobs STREQUAL "")
      set(jobs "${v}")
    endif()
    string(JSON v ERROR_VARIABLE e GET "${json}" testPresets ${i} filter include label)
    if(NOT e AND label STREQUAL "")
      set(label "${v}")
    endif()
    string(JSON m ERROR_VARIABLE e LENGTH "${json}" testPresets ${i} environment)
    if(NOT e AND m GREATER 0)
      math(EXPR mlast "${m} - 1")
      foreach(k RANGE ${mlast})
        string(JSON key MEMBER "${json}" testPresets ${i} environment ${k})
        string(JSON v GET "${json}" testPresets ${i} environment ${key})
        if(NOT "${key}=" IN_LIST env_keys)
          list(APPEND env_keys "${key}=")
          message(STATUS "env\t${key}=${v}")
        endif()
      endforeach()
    endif()
    string(JSON t ERROR_VARIABLE e TYPE "${json}" testPresets ${i} inherits)
    if(t STREQUAL "STRING")
      string(JSON v GET "${json}" testPresets ${i} inherits)
      list(APPEND chain "${v}")
    elseif(t STREQUAL "ARRAY")
      string(JSON m LENGTH "${json}" testPresets ${i} inherits)
      math(EXPR mlast "${m} - 1")
      foreach(k RANGE ${mlast})
        string(JSON v GET "${json}" testPresets ${i} inherits ${k})
        list(APPEND chain "${v}")
      endforeach()
    endif()
  endforeach()
endwhile()
if(output STREQUAL "ON")
  message(STATUS "arg\t--output-on-failure")
endif()
if(tests STREQUAL "error")
  message(STATUS "arg\t--no-tests=error")
elseif(tests STREQUAL "ignore")
  message(STATUS "arg\t--no-tests=ignore")
endif()
if(NOT jobs STREQUAL "")
  message(STATUS "arg\t--parallel\n-- arg\t${jobs}")
endif()
if(NOT label STREQUAL "")
  message(STATUS "arg\t--label-regex\n-- arg\t${label}")
endif()
CMAKE
}

# The test suite in BUILD_DIR, the tree the build stage built, with the test
# preset's options: `ctest --preset` would test the preset's own binaryDir
# whatever WORKBOOK_BUILD_DIR says. The first argument is "quick" or "full":
# the quick run leaves out the wrong-fix galleries (one test program run per
# entry, tens of them), which --full (CI) runs with everything else.
stage_ctest() {
  local mode=$1 kind value args=() environment=()
  shift
  while IFS=$'\t' read -r kind value; do
    case ${kind} in
      arg) args+=("${value}") ;;
      env) environment+=("${value}") ;;
    esac
  done < <(test_preset_options)
  # CMakePresets.json unreadable: the default preset's options.
  [[ ${#args[@]} -gt 0 ]] || args=(--output-on-failure --no-tests=error --parallel 2)
  # ... unless the caller chose labels (./workbook test -- -L wrong-fix).
  local arg
  for arg in "$@"; do
    case ${arg} in -L | --label-regex | --label-regex=*) mode=chosen ;; esac
  done
  if [[ ${mode} == quick ]]; then
    # The galleries, the benchmarks' smoke tests and the tool's slower
    # end-to-end tests (label full-only).
    args+=(--label-exclude 'wrong-fix|full-only')
    note "(the wrong-fix galleries, the benchmarks and the tests labelled full-only are left out: ./workbook test --full runs them)"
  fi
  # Every core (after the preset's options: the last --parallel wins).
  args+=(--parallel "$(nproc 2>/dev/null || echo 2)")
  with_postgres env "${environment[@]}" ctest --test-dir "${BUILD_DIR}" "${args[@]}" "$@"
}

# with_postgres CMD...: runs CMD beside a throwaway PostgreSQL server that every test program
# shares (PGHOST and friends set; the server stops when CMD ends, however it ends), where this
# build has the PostgreSQL backend. With PGHOST already set, that server is used instead.
with_postgres() {
  local wrapper="${BUILD_DIR}/postgres_db/pg_temp_server"
  if [[ -x ${wrapper} && -z ${PGHOST:-} ]]; then
    "${wrapper}" "$@"
  else
    "$@"
  fi
}

# Prints the table of stages, then the verdict; returns non-zero if a stage failed.
print_summary() {
  local i failed=()
  printf '\n'
  heading "$(printf '%-8s %8s  %s' stage seconds result)"
  for i in "${!STAGE_NAMES[@]}"; do
    printf '%-8s %8s  %s\n' "${STAGE_NAMES[i]}" "${STAGE_TIMES[i]}" "$(verdict "${STAGE_RESULTS[i]}")"
    [[ ${STAGE_RESULTS[i]} -eq 0 ]] || failed+=("${STAGE_NAMES[i]}")
  done
  printf '\n'
  if [[ ${#failed[@]} -eq 0 ]]; then
    printf '%s: all stages passed\n' "$(verdict 0)"
  else
    printf '%s: %s (see above)\n' "$(verdict 1)" "$(join ', ' "${failed[@]}")"
    return 1
  fi
}

cmd_test() {
  local ctest_args=() full=0
  while [[ $# -gt 0 ]]; do
    case $1 in
      --full) full=1 && shift ;;
      --)
        shift
        ctest_args=("$@")
        break
        ;;
      *)
        error "unexpected argument '$1': ctest arguments go after --"
        die 2 "e.g. ./workbook test -- -R harness (see ./workbook test --help)"
        ;;
    esac
  done

  if [[ ${full} -eq 1 ]]; then ensure_dependencies --full; else ensure_dependencies; fi
  # Measured on a fresh clone (compressed debug information): the default tree
  # with every chapter's gallery, then the lint, clang, asan, tsan and fuzz trees.
  if [[ ${full} -eq 1 ]]; then
    warn_if_short_of_space 12 "./workbook test --full"
  else
    warn_if_short_of_space 5 "./workbook test"
  fi
  # The build runs as a stage (for its timing) but a failed build stops here:
  # there is nothing to test.
  local mode=quick
  [[ ${full} -eq 0 ]] || mode=full
  run_stage build stage_build "${mode}"
  run_stage format stage_format || true
  if [[ ${full} -eq 1 ]]; then
    run_stage lint stage_lint || true
    run_stage docs stage_docs || true
  fi
  run_stage ctest stage_ctest "${mode}" "${ctest_args[@]}" || true
  if [[ ${full} -eq 1 ]]; then
    run_stage clang stage_preset clang || true
    run_stage asan stage_preset asan || true
    run_stage tsan stage_preset tsan || true
    run_stage fuzz stage_fuzz || true
    run_stage browser stage_browser || true
    run_stage flaky stage_flaky "${FLAKY_REPEAT:-100}" || true
  fi

  print_summary || exit 1
}
