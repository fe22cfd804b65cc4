# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# doctor
# ---------------------------------------------------------------------------

DOCTOR_MISSING=()

# The first version number in a command's output, or nothing if it is not installed.
tool_version() { # COMMAND ARGS...
  command -v "$1" >/dev/null 2>&1 || return 0
  "$@" 2>&1 | grep -oE '[0-9]+(\.[0-9]+)+' | head -n 1 || true
}

# The version of an installed Debian package, or nothing.
package_version() { # PACKAGE
  command -v dpkg-query >/dev/null 2>&1 || return 0
  dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null |
    sed -n 's/^install ok installed //p' || true
}

# One line of the doctor's table; a missing item's packages go on the install list.
doctor_row() { # WHAT VERSION PACKAGES...
  local what=$1 version=$2
  shift 2
  if [[ -n ${version} ]]; then
    printf '  %-22s %s%s%s\n' "${what}" "${GREEN}" "${version}" "${RESET}"
  else
    printf '  %-22s %smissing%s (Debian: %s)\n' "${what}" "${RED}" "${RESET}" "$*"
    DOCTOR_MISSING+=("$@")
  fi
}

cmd_doctor() {
  parse_args doctor "" "$@"
  no_chapter_arg doctor
  local boost="" cmake_version
  if [[ -f /usr/include/boost/version.hpp ]]; then
    boost=$(sed -n 's/^#define BOOST_LIB_VERSION "\(.*\)"/\1/p' /usr/include/boost/version.hpp | tr _ .)
  fi
  cmake_version=$(tool_version cmake --version)
  heading "what the workbook needs, and what this machine has"
  doctor_row "C++ compiler (g++)" "$(tool_version g++ -dumpfullversion)" g++
  doctor_row "clang++-16 (presets)" "$(tool_version clang++-16 --version)" clang-16
  doctor_row "clang 16 runtime" "$(package_version libclang-rt-16-dev)" libclang-rt-16-dev
  doctor_row "clang++ 14 (lint)" "$(tool_version clang++ --version)" clang libclang-rt-14-dev
  if [[ -n ${cmake_version} ]] && [[ $(printf '%s\n%s\n' "${MIN_CMAKE}" "${cmake_version}" | sort -V | head -n 1) != "${MIN_CMAKE}" ]]; then
    cmake_version="" # too old counts as missing
    note "  (CMake $(tool_version cmake --version) is older than ${MIN_CMAKE})"
  fi
  doctor_row "CMake (>= ${MIN_CMAKE})" "${cmake_version}" cmake
  doctor_row "Ninja" "$(tool_version ninja --version)" ninja-build
  doctor_row "Boost (>= 1.81)" "${boost}" libboost1.81-dev
  doctor_row "Boost.JSON" "$(package_version libboost-json1.81-dev)" libboost-json1.81-dev
  doctor_row "GoogleTest" "$(package_version libgtest-dev)" libgtest-dev
  doctor_row "GoogleMock" "$(package_version libgmock-dev)" libgmock-dev
  doctor_row "Google Benchmark" "$(package_version libbenchmark-dev)" libbenchmark-dev
  doctor_row "Doxygen" "$(tool_version doxygen --version)" doxygen
  doctor_row "gnuplot" "$(tool_version gnuplot --version)" gnuplot-nox
  doctor_row "jq (benchmark tables)" "$(tool_version jq --version)" jq
  doctor_row "clang-format" "$(tool_version clang-format --version)" clang-format
  doctor_row "clang-tidy" "$(tool_version clang-tidy --version)" clang-tidy
  doctor_row "gdb (check's crash lines)" "$(tool_version gdb --version)" gdb
  doctor_row "shellcheck" "$(tool_version shellcheck --version)" shellcheck
  doctor_row "inotifywait" "$(tool_version inotifywait --help)" inotify-tools
  doctor_row "SQLite (library)" "$(package_version libsqlite3-dev)" libsqlite3-dev
  doctor_row "libpq (PostgreSQL)" "$(package_version libpq-dev)" libpq-dev
  doctor_row "PostgreSQL 15 server" "$(package_version postgresql-15)" postgresql-15
  printf '\n'
  note "only for ./workbook test --full and docs --check (installed by them when missing):"
  local chromium
  chromium=$(package_version chromium)
  if [[ -n ${chromium} ]]; then
    printf '  %-22s %s%s%s\n' "Chromium (docs check)" "${GREEN}" "${chromium}" "${RESET}"
  else
    printf '  %-22s not installed (Debian: chromium)\n' "Chromium (docs check)"
  fi
  printf '\n'
  note "build tree:   ${BUILD_DIR} ($([[ -f "${BUILD_DIR}/build.ninja" ]] && echo configured || echo "not configured yet"))"
  note "your work:    $(show_path "${LEARNER_DIR}")"
  if ! command -v dpkg-query >/dev/null 2>&1; then
    note "(not a Debian system: the package versions cannot be read; the package names are Debian 12's)"
  fi
  if [[ ${#DOCTOR_MISSING[@]} -eq 0 ]]; then
    printf '\n%s: everything the workbook needs is installed\n' "$(verdict 0)"
    return 0
  fi
  local sudo="sudo "
  [[ ${EUID} -eq 0 ]] && sudo=""
  printf '\nmissing: %s\ninstall with:\n  %sapt-get install -y --no-install-recommends %s\n' \
    "${DOCTOR_MISSING[*]}" "${sudo}" "${DOCTOR_MISSING[*]}"
  note "(any ./workbook command run as root installs them itself)"
  exit 3
}

help_doctor() {
  cat <<EOF
usage: ./workbook doctor

Lists the tools and libraries the workbook uses, with the version found:
g++ (the default compiler), clang++-16 and its runtime (the clang and fuzz
presets), clang++ 14 (lint), CMake, Ninja, Boost, Boost.JSON, GoogleTest,
GoogleMock, Google Benchmark, Doxygen, gnuplot, clang-format, clang-tidy,
inotifywait, shellcheck, SQLite, libpq and the PostgreSQL 15 server; then
what is missing and the apt-get command that installs it. Chromium, which
only ./workbook test --full and docs --check use (they install it), is listed
apart and never counts as missing.
Exits 0 if nothing is missing, 3 otherwise.
EOF
}
