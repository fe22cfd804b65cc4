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
# which are meant not to compile, and the galleries' wrong fixes, which are
# meant to be wrong (their job is to be rejected by the chapter's test; the
# alternatives, correct designs, are checked like any other source).
lint_sources() {
  source_files | grep '\.cpp$' | grep -v -e '/compile_fail/' -e '/wrong-fixes/' || true
}

# Prints "FILE<TAB>KEY" for every source lint_sources lists. A file's key is
# made of its content, the content of every project header it includes
# (directly or through other headers), and .clang-tidy's: an edit re-checks
# only the files that can see it. An include is matched to the project's
# headers by the end of their path ("mockdb/query.hpp" is
# mock_db/interface/include/mockdb/query.hpp); a name that several headers
# end with counts them all, so a key never misses a header it depends on.
lint_keys() {
  local tidy
  tidy=$(sha256sum <.clang-tidy | cut -c1-16)
  {
    source_files | xargs sha256sum | sed 's/^/H /'
    source_files | xargs grep -H -o -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"][^>"]+[>"]' |
      sed -E 's/^([^:]+):.*[<"]([^>"]+)[>"]$/I \1 \2/'
    lint_sources | sed 's/^/S /'
  } | awk -v tidy="${tidy}" '
    $1 == "H" {
      hash[$3] = substr($2, 1, 16)
      if ($3 ~ /\.hpp$/) {
        n = split($3, part, "/")
        suffix = part[n]
        headers[suffix] = headers[suffix] " " $3
        for (i = n - 1; i >= 1; i--) {
          suffix = part[i] "/" suffix
          headers[suffix] = headers[suffix] " " $3
        }
      }
      next
    }
    $1 == "I" { includes[$2] = includes[$2] " " $3; next }
    $1 == "S" { sources[++count] = $2 }
    # visit FILE: adds to `seen` every project header FILE includes, transitively.
    function visit(file,    list, k, m, targets, t, header) {
      m = split(includes[file], list, " ")
      for (k = 1; k <= m; k++) {
        split(headers[list[k]], targets, " ")
        for (t in targets) {
          header = targets[t]
          if (header != "" && !(header in seen)) {
            seen[header] = 1
            visit(header)
          }
        }
      }
    }
    END {
      for (c = 1; c <= count; c++) {
        file = sources[c]
        delete seen
        visit(file)
        material = hash[file] " " tidy
        # The headers in a fixed order, so the key does not depend on awk.
        n = 0
        for (header in seen) sorted[++n] = header
        for (i = 2; i <= n; i++) {
          v = sorted[i]
          for (j = i - 1; j >= 1 && sorted[j] > v; j--) sorted[j + 1] = sorted[j]
          sorted[j + 1] = v
        }
        for (i = 1; i <= n; i++) material = material " " hash[sorted[i]]
        print file "\t" material
      }
    }' | while IFS=$'\t' read -r file material; do
    printf '%s\t%s\n' "${file}" "$(sha256sum <<<"${material}" | cut -c1-16)"
  done
}

# Runs clang-tidy on every source whose result is not cached. A file's result is
# kept under its key (lint_keys): a change to it, to a header it includes or to
# .clang-tidy checks it again. FIX=1 applies clang-tidy's fixes.
run_lint() {
  lint_configure || return 1
  local cache="${LINT_DIR}/passed" jobs file key todo=() failed=()
  mkdir -p "${cache}" "${LINT_DIR}/logs"
  jobs=$(nproc 2>/dev/null || echo 2)
  # clang-tidy --fix edits the headers a source includes: two at once could
  # both rewrite a shared header. Fixes are applied one file at a time.
  if [[ -n ${FIX:-} ]]; then jobs=1; fi
  while IFS=$'\t' read -r file key; do
    [[ -f "${cache}/${key}" && -z ${FIX:-} ]] || todo+=("${file}|${key}")
  done < <(lint_keys)
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
.clang-tidy, on every C++ source but the compile-fail tests and the galleries'
wrong fixes (meant to be wrong). A file that passed is not checked again until
it, a project header it includes (directly or not) or .clang-tidy changes.
--fix applies the fixes clang-tidy knows how to make.
EOF
}
