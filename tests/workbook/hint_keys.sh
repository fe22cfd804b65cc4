#!/usr/bin/env bash
# Every key of a keyed hint in chapters/catalog.json ({"when": KEY, ...}) names
# something that can fail: one of the chapter's failure signatures, or at
# least one of its tests (Suite.Test, * for any characters). A key with a typo,
# or a test renamed since, would make its hint look unrelated to what fails,
# and ./workbook hint would skip it.
#
# Usage: hint_keys.sh BUILD_DIR (a configured and built tree: it reads
# catalog/NN.hint-keys and chapters.tsv there, and lists the tests of each
# chapter's fix, chNN_test_fix --gtest_list_tests).
set -euo pipefail

build=${1:?usage: hint_keys.sh BUILD_DIR}
checked=0 bad=0

# The tests of a GoogleTest program, one Suite.Test per line.
test_names() { # PROGRAM
  "$1" --gtest_list_tests | awk '
    /^[^ ]/ { suite = $1; next }
    /^  / { print suite $1 }'
}

while IFS=$'\t' read -r id _ _ signatures _; do
  keys_file="${build}/catalog/${id}.hint-keys"
  grep -qs . "${keys_file}" || continue # no keyed hint in this chapter
  program="${build}/ch${id}_test_fix"
  if [[ ! -x ${program} ]]; then
    printf 'chapter %s: %s is not built (build the tree first)\n' "${id}" "${program}"
    bad=$((bad + 1))
    continue
  fi
  names=$(test_names "${program}")
  IFS=$'\x1f' read -r -a known_signatures <<<"${signatures}"
  hint=0
  while IFS= read -r line; do
    hint=$((hint + 1))
    [[ -n ${line} ]] || continue
    IFS=$'\x1f' read -r -a keys <<<"${line}"
    for key in "${keys[@]}"; do
      checked=$((checked + 1))
      found=0
      for signature in "${known_signatures[@]}"; do
        [[ ${key} == "${signature}" ]] && found=1
      done
      if [[ ${found} -eq 0 ]]; then
        while IFS= read -r name; do
          # shellcheck disable=SC2053 # the key is a pattern: * matches any characters
          if [[ ${name} == ${key} ]]; then
            found=1
            break
          fi
        done <<<"${names}"
      fi
      if [[ ${found} -eq 0 ]]; then
        printf 'chapter %s, hint %d: "when" names "%s", which is neither a failure signature of the chapter nor any of its tests (%s --gtest_list_tests)\n' \
          "${id}" "${hint}" "${key}" "${program##*/}"
        bad=$((bad + 1))
      fi
    done
  done <"${keys_file}"
done <"${build}/chapters.tsv"

if [[ ${checked} -eq 0 ]]; then
  echo "no keyed hints found in ${build}/catalog: nothing was checked (is the tree configured?)"
  exit 1
fi
printf '%d keys checked, %d name nothing\n' "${checked}" "${bad}"
[[ ${bad} -eq 0 ]]
