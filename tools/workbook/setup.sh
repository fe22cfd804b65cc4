# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# Set-up: dependencies and build
# ---------------------------------------------------------------------------

# ensure_dependencies [--full]: the packages every command needs; with --full,
# DEB_PACKAGES_FULL too (the stages only ./workbook test --full runs).
ensure_dependencies() {
  local packages=("${DEB_PACKAGES[@]}")
  if [[ ${1:-} == --full ]]; then packages+=("${DEB_PACKAGES_FULL[@]}"); fi
  if ! command -v dpkg-query >/dev/null 2>&1; then
    check_tools_without_dpkg
  else
    install_missing_packages "${packages[@]}"
  fi
  check_cmake_version
}

# Not Debian: the packages cannot be checked, but the essential tools can.
check_tools_without_dpkg() {
  note "not a Debian system: make sure these are installed: a C++20 compiler, CMake >= ${MIN_CMAKE}," \
    "Ninja, Boost >= 1.81 with Boost.JSON, GoogleTest and GoogleMock, Google Benchmark, Doxygen," \
    "clang-format (on Debian: ${DEB_PACKAGES[*]})"
  local tool missing=()
  for tool in cmake ninja; do
    command -v "${tool}" >/dev/null 2>&1 || missing+=("${tool}")
  done
  if ! command -v "${CXX:-c++}" >/dev/null 2>&1 && ! command -v g++ >/dev/null 2>&1 &&
    ! command -v clang++ >/dev/null 2>&1; then
    missing+=("a C++ compiler (c++, g++ or clang++)")
  fi
  if [[ ${#missing[@]} -gt 0 ]]; then
    die 3 "cannot build: not found on PATH: $(join ', ' "${missing[@]}")"
  fi
}

install_missing_packages() { # PACKAGE...
  # One dpkg-query for all packages; packages it does not know are simply absent from its output.
  local -A installed=()
  local name status
  while read -r name status; do
    [[ ${status} == "install ok installed" ]] && installed[${name}]=1
  done < <(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null || true)

  local package missing=()
  for package in "$@"; do
    [[ -n ${installed[${package}]:-} ]] || missing+=("${package}")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0

  if [[ ${EUID} -ne 0 ]]; then
    error "the workbook's build dependencies are not all installed; missing: ${missing[*]}"
    error "install them with:"
    error "  sudo apt-get install -y --no-install-recommends ${missing[*]}"
    die 3 "then run ./workbook again"
  fi

  heading "installing the workbook's build dependencies: ${missing[*]}"
  note "(the build needs a C++20 compiler, CMake, Ninja, Boost, GoogleTest, Google Benchmark," \
    "Doxygen, clang-format, SQLite, and PostgreSQL's client library and server)"
  if ! apt-get update; then
    die 3 "'apt-get update' failed (see above): check the network and the apt sources" \
      "(/etc/apt/sources.list*), then run ./workbook again"
  fi
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; then
    die 3 "'apt-get install ${missing[*]}' failed (see above): fix the apt problem it reports," \
      "then run ./workbook again"
  fi
}

check_cmake_version() {
  local version major minor want_major want_minor
  version=$(cmake --version | head -n 1) # "cmake version 3.25.1"
  version=${version##* }
  IFS=. read -r major minor _ <<<"${version}"
  IFS=. read -r want_major want_minor <<<"${MIN_CMAKE}"
  if ((major < want_major || (major == want_major && minor < want_minor))); then
    die 3 "CMake ${version} is too old: the workbook needs CMake ${MIN_CMAKE} or newer" \
      "(Debian 12 has it: apt-get install cmake)"
  fi
}

# Whether BUILD_DIR must be configured (again): never configured, the catalog
# or the build's chapter code changed since (a git pull), or configured for
# another learner directory.
needs_configure() {
  [[ -f "${BUILD_DIR}/build.ninja" && -f ${CHAPTERS_TSV} ]] || return 0
  [[ chapters/catalog.json -nt ${CHAPTERS_TSV} || cmake/Workbook.cmake -nt ${CHAPTERS_TSV} ]] && return 0
  local cached
  cached=$(sed -n 's/^WORKBOOK_LEARNER_DIR:PATH=//p' "${BUILD_DIR}/CMakeCache.txt")
  [[ -n ${cached} && $(realpath -m -- "${cached}") == "${LEARNER_DIR}" ]] && return 1
  return 0
}

# Runs CMake's configure step for BUILD_DIR, with the preset's settings and the
# learner's directory, under the build tree's lock. Its report is only
# interesting when it fails: then it is in CONFIGURE_OUTPUT and this returns 1.
CONFIGURE_OUTPUT=""
configure_tree() {
  local rc=0 fd
  lock_build_tree
  fd=${LOCK_FD}
  CONFIGURE_OUTPUT=$(cmake --preset "${PRESET}" -B "${BUILD_DIR}" \
    -DWORKBOOK_LEARNER_DIR="${LEARNER_DIR}" 2>&1) || rc=$?
  release_lock "${fd}"
  return "${rc}"
}

# Every chapter's exercise files, read from chapters/catalog.json now: one line
# per chapter, "NN-slug<TAB>file file...". Bash cannot read JSON and CMake can,
# in script mode. It is read before configuring because chapters.tsv may be
# older than the catalog (a git pull that gave a chapter one more file).
catalog_files() {
  cmake_script "-DCATALOG=${ROOT}/chapters/catalog.json" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
file(READ "${CATALOG}" json)
string(JSON count ERROR_VARIABLE error LENGTH "${json}" chapters)
if(error OR count EQUAL 0)
  return()
endif()
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON id ERROR_VARIABLE e1 GET "${json}" chapters ${i} id)
  string(JSON slug ERROR_VARIABLE e2 GET "${json}" chapters ${i} slug)
  string(JSON nfiles ERROR_VARIABLE e3 LENGTH "${json}" chapters ${i} files)
  if(e1 OR e2 OR e3 OR nfiles EQUAL 0)
    continue()  # the configure step names what is wrong with the entry
  endif()
  math(EXPR lastfile "${nfiles} - 1")
  set(files "")
  foreach(f RANGE ${lastfile})
    string(JSON file GET "${json}" chapters ${i} files ${f})
    string(APPEND files " ${file}")
  endforeach()
  string(STRIP "${files}" files)
  message(STATUS "${id}-${slug}\t${files}")
endforeach()
CMAKE
}

# cmake_script DEFINITIONS... <SCRIPT: runs the CMake script read from stdin
# in script mode (cmake -P needs a file it can seek in: a temporary one) and
# prints what it reports with message(STATUS), without the "-- ".
cmake_script() {
  local script rc=0
  script=$(mktemp "${TMPDIR:-/tmp}/workbook-script.XXXXXX") || return 0
  cat >"${script}"
  cmake "$@" -P "${script}" 2>/dev/null | sed -n 's/^-- //p' || rc=$?
  rm -f -- "${script}"
  return "${rc}"
}

# The exercise files missing from the chapters the learner started, per the
# catalog: one line each, "NN-slug<TAB>file".
missing_learner_files() {
  local name words files file
  [[ -d ${LEARNER_DIR} ]] || return 0
  while IFS=$'\t' read -r name words; do
    [[ -n ${name} && -d "${LEARNER_DIR}/${name}" ]] || continue
    read -r -a files <<<"${words}"
    for file in "${files[@]}"; do
      [[ -f "${LEARNER_DIR}/${name}/${file}" ]] || printf '%s\t%s\n' "${name}" "${file}"
    done
  done < <(catalog_files)
}

# Says which of the learner's files are missing and how to get each back.
explain_missing_files() { # LINES from missing_learner_files
  local name file
  while IFS=$'\t' read -r name file; do
    [[ -n ${name} ]] || continue
    error "your copy of chapter ${name%%-*} has no ${file}: $(show_path "${LEARNER_DIR}/${name}/${file}")" \
      "is missing (deleted, or new in the catalog since you started the chapter)."
    error "  to repair: ./workbook reset ${name%%-*} --yes puts the broken original back (your copy is" \
      "kept in $(show_path "${LEARNER_DIR}")/.trash/), or copy chapters/${name}/${file} there yourself"
  done <<<"$1"
}

# Configures BUILD_DIR. A configuration that fails while a started chapter
# misses a file (its copy cannot be compiled) is explained, and when an
# earlier configuration listed the chapters the command goes on with that
# list: list, start, hint, reset and solution keep working, so the learner can
# repair. CONFIGURE_FAILED then says why; commands that build stop on it.
CONFIGURE_FAILED=""
configure_or_explain() {
  local missing
  missing=$(missing_learner_files)
  if [[ -n ${missing} ]]; then explain_missing_files "${missing}"; fi
  configure_tree && return 0
  if [[ -n ${missing} ]]; then
    if [[ -f ${CHAPTERS_TSV} ]]; then
      error "configuring ${BUILD_DIR} failed while those files are missing; going on with the" \
        "chapters it listed last time (nothing can be built until they are back)"
      CONFIGURE_FAILED="the build cannot be configured while your copy misses a file (above)"
      return 0
    fi
    die 1 "configuring ${BUILD_DIR} failed while those files are missing: repair them as said" \
      "above (copy each from chapters/), then run the command again"
  fi
  printf '%s\n' "${CONFIGURE_OUTPUT}" >&2
  die 1 "configuring ${BUILD_DIR} with the CMake preset '${PRESET}' failed: see the messages above"
}

# Configures when needed and loads the chapter list. A chapter the learner
# started (or removed) since the last configure changes the set of targets
# (chNN_*_learner), so that configures again too.
ensure_configured() {
  if needs_configure; then
    ensure_dependencies
    if [[ -f "${BUILD_DIR}/build.ninja" ]]; then
      note "configuring ${BUILD_DIR} again (the catalog or the learner directory changed)..."
    else
      note "configuring ${BUILD_DIR} (first run)..."
    fi
    configure_or_explain
  fi
  load_chapters
  if [[ -z ${CONFIGURE_FAILED} ]] && learner_targets_stale; then
    configure_or_explain
    load_chapters
  fi
}

# Stops a command that builds when the build could not be configured.
require_configured() {
  [[ -z ${CONFIGURE_FAILED} ]] || die 1 "${CONFIGURE_FAILED}"
}

# Configures on the first run, then builds everything (a no-op for Ninja when
# nothing changed). The learner's targets are not part of it.
ensure_built() {
  ensure_configured
  require_configured
  local rc=0 fd
  lock_build_tree
  fd=${LOCK_FD}
  cmake --build "${BUILD_DIR}" || rc=$?
  release_lock "${fd}"
  if [[ ${rc} -ne 0 ]] && disk_nearly_full; then
    die 1 "build failed: the disk is full ($(free_space_text) free where ${BUILD_DIR} is)." \
      "Free some space and run the command again; the workbook's own build trees are" \
      "$(du -sh build 2>/dev/null | cut -f1) in build/ (rm -rf build/asan build/tsan build/clang" \
      "keeps your work and the default tree)"
  fi
  [[ ${rc} -eq 0 ]] || die 1 "build failed: see the compiler messages above"
}

# Free space on the file system of the build trees, in MiB.
free_space_mib() {
  local dir=${BUILD_DIR}
  [[ -d ${dir} ]] || dir=.
  df -Pm -- "${dir}" 2>/dev/null | awk 'NR == 2 { print $4 }'
}
free_space_text() { printf '%s MiB' "$(free_space_mib)"; }
# True when less than 512 MiB is left: a linker or compiler then fails with
# "No space left on device" among a page of other output.
disk_nearly_full() {
  local free
  free=$(free_space_mib)
  [[ -n ${free} && ${free} -lt 512 ]]
}

# Warns before a long run when the build trees may not fit: NEED_GIB is what
# the run's trees take on a fresh clone (measured; see cmd_test).
warn_if_short_of_space() { # NEED_GIB WHAT
  local need=$1 what=$2 free
  free=$(free_space_mib)
  [[ -n ${free} ]] || return 0
  if ((free < need * 1024)); then
    note "warning: ${what} needs about ${need} GiB of disk on a fresh clone, and $((free / 1024))" \
      "GiB is free where ${BUILD_DIR} is; if the build stops with 'No space left on device'," \
      "free some space (old build trees: du -sh build/*) and run it again"
  fi
}

# build_targets TARGET...: builds only these targets. Shows progress instead of
# the build's log (on a terminal a counter; otherwise a line per quarter of a
# long build); the log is kept in BUILD_LOG for build_errors.
BUILD_LOG="" BUILD_LOG_TEXT=""
build_targets() {
  require_configured
  local rc=0 fd
  lock_build_tree
  fd=${LOCK_FD}
  BUILD_LOG="${BUILD_DIR}/workbook-build.log"
  cmake --build "${BUILD_DIR}" --target "$@" 2>&1 | show_build_progress "${BUILD_LOG}" || rc=$?
  # Read before the lock goes: the next command to build here rewrites the log.
  BUILD_LOG_TEXT=$(cat -- "${BUILD_LOG}" 2>/dev/null || true)
  release_lock "${fd}"
  return "${rc}"
}

# Reads Ninja's output ("[3/36] Building CXX object ..."), writes it to LOG and
# shows how far the build is.
show_build_progress() { # LOG
  local log=$1 line step total quarter=0 counting=0
  : >"${log}"
  while IFS= read -r line; do
    printf '%s\n' "${line}" >>"${log}"
    [[ ${line} =~ ^\[([0-9]+)/([0-9]+)\]\  ]] || continue
    step=${BASH_REMATCH[1]} total=${BASH_REMATCH[2]}
    if [[ -t 1 ]]; then
      printf '\r  building: %d of %d steps\e[K' "${step}" "${total}"
      counting=1
    elif ((total >= 8 && step * 4 / total > quarter)); then
      quarter=$((step * 4 / total))
      printf '  building: %d of %d steps\n' "${step}" "${total}"
    fi
  done
  if [[ ${counting} -eq 1 ]]; then printf '\r\e[K'; fi
}

# The compiler's messages from the last build_targets: the log without Ninja's
# progress lines and failed command lines, paths relative to the repository,
# at most 60 lines.
build_errors() {
  local text
  text=$(awk '/^\[[0-9]+\/[0-9]+\] / { next }
              /^FAILED: / { skip = 1; next }
              skip { skip = 0; next }
              /^ninja: build stopped/ { next }
              { print }' <<<"${BUILD_LOG_TEXT}")
  text=${text//"${ROOT}/"/}
  if [[ $(wc -l <<<"${text}") -gt 60 ]]; then
    text="$(head -n 60 <<<"${text}")"$'\n'"... (the whole log: ${BUILD_LOG})"
  fi
  printf '%s\n' "${text}"
}

# ---------------------------------------------------------------------------
# prepare: build everything beforehand (lab machines)
# ---------------------------------------------------------------------------

cmd_prepare() {
  [[ $# -eq 0 ]] || die 2 "prepare takes no arguments (see ./workbook prepare --help)"
  ensure_dependencies
  warn_if_short_of_space 2 "./workbook prepare"
  local start
  start=$(now_us)
  ensure_built
  if ! build_targets benchmark_programs; then
    build_errors
    die 1 "building the benchmark programs failed: see the compiler messages above"
  fi
  note "built in $(format_seconds $(($(now_us) - start))) s: ${BUILD_DIR} takes" \
    "$(du -sh "${BUILD_DIR}" 2>/dev/null | cut -f1) on disk."
  note "a learner's first ./workbook check now compiles only their own copy."
  printf '%s: ready for the lab\n' "$(verdict 0)"
}

help_prepare() {
  cat <<EOF
usage: ./workbook prepare

Installs the build dependencies if needed and builds everything the learner's
commands use: every chapter's exercise, fix, tests, demos and benchmark
programs (not the wrong-fix galleries, which only ./workbook test --full
uses). Run it on a lab machine before the class: afterwards a learner's first
check compiles only their own copy of the chapter. It needs about 800 MB of
disk for ${BUILD_DIR} (758 MB measured) and, on 2 cores, about 5 minutes.
EOF
}
