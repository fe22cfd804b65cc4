#!/usr/bin/env bash
# End-to-end tests of the documentation site as a reader and an instructor get
# it: ./workbook docs builds it and its student edition, and --check opens
# every page in headless Chromium. Checked here: both editions pass; the
# student edition has no fix (and the full one does, so the check is not
# blind); the chapter list, the Chapters tab and the previous/next links; a
# copy of the site broken in every way the check promises to catch (a link, an
# anchor, an image missing or not an image, an empty code block, a Doxygen
# command shown as text, a link out of the site) fails, naming the page and the
# target; wrong usage, and Chromium missing.
#
# It works in its own build tree (WORKBOOK_BUILD_DIR, default build/e2e-docs,
# chapter 01 only: the site needs no compiled code) and a temporary directory.
# About two minutes, most of it the browser (three sites of about 240 pages).
#
# Run it with ctest (label "tool") or directly: bash tests/workbook/docs_site.sh
# Its last line reads "N passed, N failed"; it exits non-zero if any failed.
# shellcheck disable=SC2016
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
readonly ROOT
readonly WORKBOOK="${ROOT}/workbook"

SCRATCH=$(mktemp -d)
readonly SCRATCH
export WORKBOOK_LEARNER_DIR="${SCRATCH}/my-work"
export WORKBOOK_BUILD_DIR="${WORKBOOK_DOCS_BUILD_DIR:-build/e2e-docs}"
export NO_COLOR=1
readonly SITE="${ROOT}/${WORKBOOK_BUILD_DIR}/docs/html"
readonly STUDENT="${ROOT}/${WORKBOOK_BUILD_DIR}/docs/student/html"

trap 'rm -rf -- "${SCRATCH}"' EXIT

# shellcheck source=tests/workbook/lib.sh
source "${ROOT}/tests/workbook/lib.sh"

file_lacks() { [[ -f $1 ]] && ! grep -qF -- "$2" "$1"; }

# The tree: configured once with chapter 01 only (the site reads every
# lesson whatever is compiled).
tool_tree "01" "${WORKBOOK_LEARNER_DIR}"

# --- both editions build and pass the browser check ---------------------------
wb docs --check
expect "docs --check: the site builds and every page passes" rc_is 0
expect "docs --check: says how many pages it opened" out_has "pages, "
wb docs --student --check
expect "docs --student --check: the student edition builds and passes" rc_is 0
expect "docs --student: its build proved it has no fix" out_has "no fix in the"

# --- the student edition leaves the answers out; the full one has them --------
# Doxygen writes a heading's text on the line after its anchor.
has_fix_heading() { grep -qE '(^|>)[[:space:]]*The fix</h1>' "$1"; }
lacks_fix_heading() { [[ -f $1 ]] && ! has_fix_heading "$1"; }
expect "full edition: chapter 01 has its fix section" has_fix_heading "${SITE}/ch01.html"
expect "full edition: the home page has the solution diff" file_has "${SITE}/index.html" "+++ solutions/"
expect "student edition: no fix section in chapter 01" lacks_fix_heading "${STUDENT}/ch01.html"
expect "student edition: says the fix is left out" file_has "${STUDENT}/ch01.html" "leaves out the fix"
expect "student edition: no solution diff on the home page" file_lacks "${STUDENT}/index.html" "+++ solutions/"
RC=0
OUT=$(cmake -DROOT="${ROOT}" -DHTML="${SITE}" -P "${ROOT}/cmake/StudentEdition.cmake" 2>&1) || RC=$?
expect "the leak check fails on the full edition" rc_is 1
expect "the leak check names the page and the fix" out_has "ch01.html: shows the fix's code from solutions/01-blocking-in-coroutines/fingerprint_service.cpp"

# --- navigation ---------------------------------------------------------------
expect "a Chapters tab at the top of every page" file_has "${SITE}/menudata.js" '"Chapters"'
missing_links=()
for lesson in "${ROOT}"/chapters/[0-9][0-9]-*/README.md; do
  id=$(basename "$(dirname "${lesson}")")
  id=${id%%-*}
  grep -q "href=\"ch${id}.html\"" "${SITE}/index.html" || missing_links+=("${id}")
done
OUT="chapters without a link on the home page: ${missing_links[*]:-none}"
expect "the home page links to every chapter" test ${#missing_links[@]} -eq 0
expect "chapter 01 links to chapter 00 (previous)" file_has "${SITE}/ch01.html" '← Chapter 00'
expect "chapter 01 links to chapter 02 (next)" file_has "${SITE}/ch01.html" 'Chapter 02 · Sync over async →'
expect "chapter 00 has no previous chapter" file_lacks "${SITE}/ch00.html" '←'

# --- a broken copy of the site fails, naming page and target ------------------
broken="${SCRATCH}/site"
cp -r "${SITE}" "${broken}"
sed -i '0,/<div class="contents">/s||<div class="contents"><p><a href="no-such-page.html">a</a> <a href="glossary.html#no-such-term">b</a> <a href="../../../chapters/01-blocking-in-coroutines/demo.cpp">c</a></p><img src="01-plot.svg" alt="plot"><div class="fragment"></div><p>\\snippet chapters/x.cpp fix</p>|' "${broken}/ch01.html"
printf 'not a picture\n' >"${broken}/classmockdb_1_1Connection.png"
wb docs --check "${broken}"
expect "a broken site fails the check" rc_is 1
expect "names a link to a missing page" out_has "ch01.html: link to no-such-page.html: no such file"
expect "names a link to a missing anchor" out_has 'ch01.html: link to glossary.html#no-such-term: glossary.html has no anchor "no-such-term"'
expect "names a link out of the site" out_has "ch01.html: link to ../../../chapters/01-blocking-in-coroutines/demo.cpp leads out of the site"
expect "names a missing image (a plot)" out_has "ch01.html: image 01-plot.svg does not load"
expect "names an image that is not one" out_has "classmockdb_1_1Connection.html: image classmockdb_1_1Connection.png does not load"
expect "names an empty code block" out_has "ch01.html: 1 empty code block(s)"
expect "names a Doxygen command shown as text" out_has 'ch01.html: a Doxygen command shown as text: "\snippet chapters/x.cpp fix"'
expect "counts the problems" out_has "FAILED: 7 problem(s)"

# --- wrong usage, and no browser ----------------------------------------------
wb docs --check "${SCRATCH}/nothing-here"
expect "docs --check DIR without a site: exit 1" rc_is 1
expect "docs --check DIR without a site: says so" out_has "no documentation site in ${SCRATCH}/nothing-here"
wb docs --sideways
expect "docs with an unknown option: exit 2" rc_is 2
wb docs "${SITE}"
expect "docs DIR without --check: exit 2, and says what to type" bash -c '[[ $1 -eq 2 ]] && grep -qF -- "--check" <<<"$2"' _ "${RC}" "${OUT}"
# A PATH with everything of /usr/bin but Chromium.
mkdir -p "${SCRATCH}/bin"
for tool in /usr/bin/* /usr/local/bin/*; do
  case ${tool##*/} in chromium* | google-chrome*) continue ;; esac
  [[ -e "${SCRATCH}/bin/${tool##*/}" ]] || ln -s "${tool}" "${SCRATCH}/bin/${tool##*/}"
done
RC=0
OUT=$(PATH="${SCRATCH}/bin" "${WORKBOOK}" docs --check "${SITE}" </dev/null 2>&1) || RC=$?
expect "without Chromium: exit 1" rc_is 1
expect "without Chromium: says what to install" out_has "needs Chromium, which is not installed: ./workbook doctor says how to install it"

finish
