# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# docs: the documentation site, its student edition, and the browser check
# ---------------------------------------------------------------------------

help_docs() {
  cat <<EOF
usage: ./workbook docs [--student] [--check]
       ./workbook docs --check HTML-DIRECTORY

Builds the documentation site (the docs target) in ${BUILD_DIR}/docs/html:
the README as home page, every chapter's lesson, the guides and the API of
mock_db and the harness.
  --student   build the student edition instead, for an instructor to
              publish to a class: without each lesson's "The fix" section,
              without code quoted from solutions/ and without the home page's
              solution diff (${BUILD_DIR}/docs/student/html). Its build
              fails if any fix is still on it (cmake/StudentEdition.cmake).
  --check     then open every page in headless Chromium (Debian's chromium
              package) and fail on what a reader would find broken:
                a link to a page or file that does not exist, or that leads
                  out of the site (it would be dead once the site is
                  published), or to an anchor the target page lacks;
                an image that does not load (a missing plot);
                an empty code block (a quoted snippet that resolved to nothing);
                Markdown or Doxygen markup shown as text (\\ref, \\snippet,
                  backticks, <tt>, an HTML comment).
              Each problem names the page and the target. Web links are not
              followed (no network is needed).
Given a directory, checks the site in it (for example a copy) without building.
./workbook test --full builds both editions and checks both.
Exits 0 if the site was built (and passed the check), 1 otherwise.
EOF
}

cmd_docs() {
  local student=0 check=0 site="" arg
  for arg in "$@"; do
    case ${arg} in
      --student) student=1 ;;
      --check) check=1 ;;
      -*) die 2 "unexpected option '${arg}' (see ./workbook docs --help)" ;;
      *)
        [[ -z ${site} ]] || die 2 "one site at a time: '${site}' and '${arg}' (see ./workbook docs --help)"
        site=${arg}
        ;;
    esac
  done
  # Chromium is installed by the commands that use it only (DEB_PACKAGES_FULL).
  if [[ ${check} -eq 1 ]]; then ensure_dependencies --full; fi
  if [[ -n ${site} ]]; then
    [[ ${check} -eq 1 ]] || die 2 "a directory is only read by --check: ./workbook docs --check ${site}"
    [[ ${student} -eq 0 ]] || die 2 "--student builds the student edition; to check a site you have, name only its directory"
    site=$(cd -- "${CALLER_DIR}" && realpath -m -- "${site}")
    docs_browser_check "${site}"
    return
  fi
  ensure_configured
  require_configured
  local target=docs html="${BUILD_DIR}/docs/html" rc=0 fd
  if [[ ${student} -eq 1 ]]; then
    target=docs-student html="${BUILD_DIR}/docs/student/html"
  fi
  lock_build_tree
  fd=${LOCK_FD}
  cmake --build "${BUILD_DIR}" --target "${target}" || rc=$?
  release_lock "${fd}"
  [[ ${rc} -eq 0 ]] || die 1 "the documentation site was not built: see the messages above"
  note "the site: ${html}/index.html"
  [[ ${check} -eq 0 ]] || docs_browser_check "${html}"
}

# Builds both editions of the site and checks both in the browser: the
# "browser" stage of ./workbook test --full.
stage_browser() {
  local rc=0 fd
  lock_build_tree
  fd=${LOCK_FD}
  cmake --build "${BUILD_DIR}" --target docs docs-student || rc=$?
  release_lock "${fd}"
  if [[ ${rc} -ne 0 ]]; then
    note "the documentation site was not built: see the messages above"
    return 1
  fi
  docs_browser_check "${BUILD_DIR}/docs/html" || rc=1
  docs_browser_check "${BUILD_DIR}/docs/student/html" || rc=1
  return "${rc}"
}

# The Chromium program (Debian's package installs it as chromium).
chromium_program() {
  local name
  for name in chromium chromium-browser google-chrome; do
    if command -v "${name}" >/dev/null 2>&1; then
      command -v "${name}"
      return 0
    fi
  done
  return 1
}

# docs_browser_check HTML-DIR: opens every page of the site in headless
# Chromium and reports what is broken; returns 1 if anything is.
#
# One browser opens one harness page, which loads each page of the site in an
# iframe (file:// pages may read each other with --allow-file-access-from-files)
# and writes what it finds into its own document, one line per finding;
# --dump-dom prints that document once the browser is idle (virtual time lets
# it go idle at once). A real browser runs the site's scripts (Doxygen's menus
# and search results are built by them) and decodes each image. The lines are:
#   PAGE  page                          a page was inspected
#   REF   page  raw-target  path  fragment   every link, script, stylesheet, image, frame
#   IMG   page  raw-target                   an image that did not load
#   IDS   page  id id ...                    the anchors the page defines
#   EMPTY page  count                        empty code blocks
#   RAW   page  what  excerpt                markup shown as text
#   ERR   page  message                      the page could not be inspected
#   DONE  count
docs_browser_check() { # HTML-DIR
  local site=$1 browser work start pages=() status=0
  if ! browser=$(chromium_program); then
    error "the documentation check needs Chromium, which is not installed: ./workbook doctor says how to install it"
    return 1
  fi
  if [[ ! -f ${site}/index.html ]]; then
    error "no documentation site in ${site} (no index.html): build it first (./workbook docs)"
    return 1
  fi
  site=$(realpath -- "${site}")
  start=$(now_us)
  work=$(mktemp -d "${TMPDIR:-/tmp}/workbook-docs-check.XXXXXX") || return 1
  mapfile -t pages < <(cd -- "${site}" && find . -name '*.html' -printf '%P\n' | LC_ALL=C sort)
  note "opening the ${#pages[@]} pages of $(show_path "${site}") in ${browser##*/}..."
  write_docs_harness "${site}" "${pages[@]}" >"${work}/harness.html"
  # The pages are the project's own files, read from disk: the sandbox (which
  # refuses to start as root or without user namespaces) protects nothing here.
  timeout 900 "${browser}" --headless --no-sandbox --disable-gpu --no-first-run \
    --disable-extensions --disable-dev-shm-usage --allow-file-access-from-files \
    --user-data-dir="${work}/profile" --virtual-time-budget=600000 \
    --dump-dom "file://${work}/harness.html" >"${work}/dom.html" 2>"${work}/chromium.log" || status=$?
  # The findings, from the <pre> the harness wrote them into.
  awk '/<pre id="findings">/ { on = 1; sub(/.*<pre id="findings">/, "") }
       on && /<\/pre>/ { sub(/<\/pre>.*/, ""); print; exit }
       on { print }' "${work}/dom.html" |
    sed -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&quot;/"/g' -e 's/&amp;/\&/g' >"${work}/findings.tsv"
  if ! grep -q '^DONE' "${work}/findings.tsv"; then
    error "Chromium did not finish reading the site (exit status ${status}); its last messages:"
    tail -n 15 "${work}/chromium.log" >&2
    rm -rf -- "${work}"
    return 1
  fi
  # Every local target, and whether it exists.
  awk -F '\t' '$1 == "REF" { print $4 }' "${work}/findings.tsv" | LC_ALL=C sort -u |
    while IFS= read -r path; do
      [[ -e ${path} ]] || printf '%s\n' "${path}"
    done >"${work}/missing.txt"
  local report rc=0
  report=$(awk -F '\t' -v site="${site}/" -v missing="${work}/missing.txt" '
    function shown(path) { return index(path, site) == 1 ? substr(path, length(site) + 1) : path }
    # Problems are listed page by page, in the order the pages were read.
    function problem(page, text) {
      if (!(page in problems)) order[++listed] = page
      problems[page] = problems[page] "  " page ": " text "\n"
      count++
    }
    BEGIN { while ((getline line < missing) > 0) absent[line] = 1 }
    $1 == "PAGE" { pages++ }
    $1 == "IDS" { for (i = 3; i <= NF; i++) anchor[$2 SUBSEP $i] = 1; has_ids[$2] = 1 }
    $1 == "REF" { refs++; ref_page[refs] = $2; ref_raw[refs] = $3; ref_path[refs] = $4; ref_frag[refs] = $5 }
    $1 == "IMG" { problem($2, "image " $3 " does not load (missing, or not an image)"); image_failed[$2 SUBSEP $3] = 1 }
    $1 == "EMPTY" { problem($2, $3 " empty code block(s): a quoted snippet that resolved to nothing") }
    $1 == "RAW" { problem($2, $3 " shown as text: \"" $4 "\"") }
    $1 == "ERR" { problem($2, $3) }
    END {
      for (r = 1; r <= refs; r++) {
        page = ref_page[r]; path = ref_path[r]
        if (index(path, site) != 1) {
          problem(page, "link to " ref_raw[r] " leads out of the site (" path "): it will not exist where the site is published")
        } else if ((page SUBSEP ref_raw[r]) in image_failed) {
          continue
        } else if (path in absent) {
          problem(page, "link to " ref_raw[r] ": no such file (" shown(path) ")")
        } else if (ref_frag[r] != "" && (shown(path) in has_ids) && !((shown(path) SUBSEP ref_frag[r]) in anchor)) {
          problem(page, "link to " ref_raw[r] ": " shown(path) " has no anchor \"" ref_frag[r] "\"")
        }
      }
      for (p = 1; p <= listed; p++) printf "%s", problems[order[p]]
      printf "SUMMARY\t%d\t%d\t%d\n", pages, refs, count
    }' "${work}/findings.tsv")
  local summary
  summary=$(printf '%s\n' "${report}" | grep '^SUMMARY' | cut -f2-)
  report=$(printf '%s\n' "${report}" | grep -v '^SUMMARY' || true)
  local checked_pages checked_refs problems
  IFS=$'\t' read -r checked_pages checked_refs problems <<<"${summary}"
  local took
  took=$(format_seconds $(($(now_us) - start)))
  if [[ ${checked_pages} -ne ${#pages[@]} ]]; then
    error "the browser inspected ${checked_pages} of the ${#pages[@]} pages of ${site}"
    rc=1
  fi
  if [[ ${problems} -gt 0 ]]; then
    printf '%s\n' "${report}"
    note "$(verdict 1): ${problems} problem(s) in the site ${site} (${checked_pages} pages, ${checked_refs} links and images, ${took} s)"
    rc=1
  elif [[ ${rc} -eq 0 ]]; then
    note "$(verdict 0): ${checked_pages} pages, ${checked_refs} links and images, all there (${took} s)"
  fi
  rm -rf -- "${work}"
  return "${rc}"
}

# The harness page: loads each page of the site (the arguments after the
# site's directory) in an iframe, one after another, and inspects it.
write_docs_harness() { # SITE PAGE...
  local site=$1 page list=""
  shift
  for page in "$@"; do
    page=${page//\\/\\\\}
    list+="\"${page//\"/\\\"}\","
  done
  cat <<EOF
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>documentation check</title></head>
<body><pre id="findings"></pre>
<script>
const site = new URL("file://${site}/");
const pages = [${list}];
const FRAMES = 2;
const findings = document.getElementById("findings");
const clean = (s) => String(s).replace(/[\t\n\r]+/g, " ").slice(0, 120);
// Kept until the end: growing the page's text at every finding costs a layout each time.
const lines = [];
const say = (...fields) => { lines.push(fields.map(clean).join("\t")); };
// Text a reader sees that is markup left unprocessed.
const raw = [
  [/(^|[\s(])[\\\\@](snippet|snippetdoc|include|ref|subpage|image|copydoc|cond|endcond|if|endif)\b/, "a Doxygen command"],
  [/<!--|-->/, "an HTML comment"],
  [/\`[^\`\n]+\`/, "a Markdown code span (its backticks)"],
  [/<\/?(tt|code|details|summary|pre|em|strong)>/i, "an HTML tag"],
];
const inCode = (node) => node.parentElement &&
  node.parentElement.closest("code, pre, tt, kbd, samp, script, style, textarea, div.fragment");
function inspect(frame, name) {
  const doc = frame.contentDocument;
  if (!doc || !doc.body) { say("ERR", name, "the page could not be read"); return null; }
  say("PAGE", name);
  const ids = [...doc.querySelectorAll("[id], a[name]")].map((e) => e.id || e.getAttribute("name"));
  say("IDS", name, ...ids);
  const refs = [["a", "href"], ["link", "href"], ["script", "src"], ["img", "src"],
                ["iframe", "src"], ["object", "data"], ["source", "src"], ["embed", "src"]];
  for (const [tag, attribute] of refs) {
    for (const element of doc.querySelectorAll(tag + "[" + attribute + "]")) {
      const value = element.getAttribute(attribute);
      let url;
      try { url = new URL(value, doc.baseURI); } catch (e) { say("RAW", name, "a malformed link", value); continue; }
      if (url.protocol !== "file:") continue;
      say("REF", name, value, decodeURIComponent(url.pathname), decodeURIComponent(url.hash.slice(1)));
    }
  }
  // decode() settles once the image is decoded, or fails for a missing or broken one (the
  // load event alone may come before an SVG's size is known).
  const images = [...doc.images].map((image) =>
    image.decode().then(() => null, () => image.getAttribute("src")));
  const empty = [...doc.querySelectorAll("div.fragment, pre")].filter((e) => e.textContent.trim() === "");
  if (empty.length > 0) say("EMPTY", name, empty.length);
  const walker = doc.createTreeWalker(doc.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (inCode(node)) continue;
    for (const [pattern, what] of raw) {
      const match = node.data.match(pattern);
      if (match) {
        const at = Math.max(0, match.index - 30);
        say("RAW", name, what, node.data.slice(at, match.index + match[0].length + 30));
      }
    }
  }
  return Promise.all(images).then((failed) => {
    for (const source of failed) if (source !== null) say("IMG", name, source);
  });
}
// A few frames at once: most of a page's time is waiting, not computing.
let next = 0, running = 0;
function open(frame) {
  if (next >= pages.length) {
    if (--running === 0) {
      say("DONE", pages.length);
      findings.textContent = lines.join("\n") + "\n";
    }
    return;
  }
  const name = pages[next++];
  // After the load event, the page's own scripts: jQuery runs its "ready" handlers
  // (Doxygen's menus) from a timer, which may come after the load event; one of ours,
  // registered last, runs after them.
  frame.onload = () => {
    const done = () => setTimeout(() => {
      let inspected;
      try { inspected = inspect(frame, name); } catch (e) { say("ERR", name, "inspecting the page failed: " + e); }
      Promise.resolve(inspected).then(() => open(frame));
    }, 0);
    const jquery = frame.contentWindow && frame.contentWindow.jQuery;
    if (jquery) jquery(done); else done();
  };
  frame.src = new URL(name, site).href;
}
const frames = [];
for (let i = 0; i < FRAMES; i++) {
  frames.push(document.body.appendChild(document.createElement("iframe")));
  frames[i].style = "width:1280px;height:900px";
}
running = frames.length;
frames.forEach(open);
</script></body></html>
EOF
}
