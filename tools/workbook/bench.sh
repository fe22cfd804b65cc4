# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# Benchmarks: tables and plots from Google Benchmark's JSON
# ---------------------------------------------------------------------------
#
# For chapter NN, build/<preset>/bench/ keeps:
#   NN-pitfall.json, NN-fix.json   Google Benchmark's own results (JSON)
#   NN-yours.json                  the same for the learner's copy (bench NN --mine)
#   NN.txt, NN.md                  the table and its legend, for the terminal and the docs
#   NN.dat, NN.png, NN.svg         the plot's data and the plot
# and bench --all writes summary.md, a page of every chapter's table and plot.
#
# The reference results, the ones the lessons quote, are committed:
#   benchmarks/reference/NN-pitfall.json, NN-fix.json   (see benchmarks/reference/README.md)
# Each lesson's table is generated from them, between two markers:
#   <!-- bench-table NN: ... -->
#   ...the table, its legend and where it was measured...
#   <!-- end of bench-table NN -->
# bench --tables checks every such block against the JSON (the CTest test
# docs/bench-tables), bench --tables --fix rewrites them, and
# bench NN|--all --update-reference measures again, replaces the JSON and
# rewrites the blocks. bench --docs DIR draws every chapter's plot from the
# committed JSON for the documentation site (docs/CMakeLists.txt).
#
# Every column is named once and explained in a legend printed under the
# table: the fixed columns here (bench_legend), the counters of chapter NN in
# benchmarks/NN-slug/legend.tsv (one "counter<TAB>meaning" line each; a counter
# without one is reported by bench --tables). A counter must not be named like
# a field of Google Benchmark's own (threads, iterations, ...): in the JSON the
# two would be one key.

readonly BENCH_REFERENCE_DIR="benchmarks/reference"
# How many times a benchmark runs for a table (the table shows the median).
readonly BENCH_REPETITIONS=5

# Google Benchmark's JSON, one line per result: the run's name, "median" or
# "iteration", the real time and its unit, the error message if it failed
# ("" if not), and its counters as "name=value" separated by spaces. With
# repetitions only the median's line is wanted (the reader drops the rest).
bench_jq() {
  cat <<'JQ'
def standard: ["name", "family_index", "per_family_instance_index", "run_name", "run_type",
  "repetitions", "repetition_index", "threads", "iterations", "real_time", "cpu_time",
  "time_unit", "aggregate_name", "aggregate_unit", "error_occurred", "error_message", "label"];
.benchmarks[]
| select(.run_type != "aggregate" or .aggregate_name == "median")
| [(.run_name // .name),
   (if .run_type == "aggregate" then "median" else "iteration" end),
   (.real_time // 0 | tostring), (.time_unit // "ns"),
   (if .error_occurred then (.error_message // "error") else "" end),
   ([to_entries[] | select((.key | IN(standard[])) | not) | "\(.key)=\(.value)"] | join(" "))]
| @tsv
JQ
}

# bench_rows JSON...: the lines of bench_jq for each file, each prefixed with
# the file's number (1, 2, ...) and a tab, for bench_awk.
bench_rows() {
  local i=0 file
  for file in "$@"; do
    i=$((i + 1))
    jq -r "$(bench_jq)" "${file}" | sed "s/^/${i}\t/" ||
      { error "${file} is not Google Benchmark's JSON (jq could not read it)"; return 1; }
  done
}

# The awk program reading bench_rows's lines (file 1 the pitfall, 2 the fix,
# 3 the learner's copy if measured). A benchmark's name reads
# "<variant>/<series...>/<size>[/iterations:N]/real_time"; its key is the name
# without the variant and without the run options that do not tell rows apart
# (iterations, repeats, minimum times: a named argument or a thread count such
# as "threads:2" stays). A benchmark whose first part is not the program's
# variant, such as a reference run registered by one build only, keeps that
# part and gets rows of its own. Variables:
#   format    text      the table for the terminal, then its legend
#             markdown  the same in Markdown, for a lesson and the docs
#             plot      gnuplot data: one block per variant and series ("# title"
#                       line, then "size milliseconds" lines), separated by two
#                       blank lines
#   labels    the variants' names in the table, by file: "pitfall fix [yours]"
#   prefixes  the first part of their benchmarks' names: "pitfall fix [learner]"
#   legend    benchmarks/NN-slug/legend.tsv (may be missing)
#   chapter   NN-slug, for the legend's paths
#   runs      how many repetitions the time is the median of (1: a single run)
#   undescribed  a file to append the counters the legend lacks to ("" for none)
bench_awk() {
  cat <<'AWK'
function to_ns(value, unit) {
  if (unit == "s") return value * 1e9
  if (unit == "ms") return value * 1e6
  if (unit == "us") return value * 1e3
  return value + 0
}
function num(v) {
  v += 0
  if (v >= 100 || v == int(v)) return sprintf("%.0f", v)
  if (v >= 10) return sprintf("%.1f", v)
  if (v >= 1) return sprintf("%.2f", v)
  return sprintf("%.3g", v)
}
function show_time(ns) {
  if (ns >= 1e9) return num(ns / 1e9) " s"
  if (ns >= 1e6) return num(ns / 1e6) " ms"
  if (ns >= 1e3) return num(ns / 1e3) " us"
  return num(ns) " ns"
}
function cell(v, key, c) { return ((v, key, c) in value) ? num(value[v, key, c]) : "" }
function time_cell(v, key) {
  if ((v, key) in failure) return (format == "markdown") ? "error: `" failure[v, key] "`" : "error"
  return ((v, key) in time) ? show_time(time[v, key]) : ""
}
# This row's time over the fix's for the same benchmark (the fix is file 2).
function ratio(v, key,    r) {
  if (v == 2 || !((v, key) in time) || !((2, key) in time) || time[2, key] == 0) return ""
  r = time[v, key] / time[2, key]
  return sprintf(r >= 10 ? "%.0fx" : r >= 0.1 ? "%.2fx" : "%.1gx", r)
}
function row(first, v, key,    c, line) {
  if (format == "markdown") {
    line = "| " first " | " label[v] " | " time_cell(v, key) " | " ratio(v, key) " |"
    for (c = 1; c <= ncounters; c++) line = line " " cell(v, key, counters[c]) " |"
    print line
    return
  }
  line = sprintf("%-" wkey "s  %-7s  %10s  %15s", first, label[v], time_cell(v, key), ratio(v, key))
  for (c = 1; c <= ncounters; c++) line = line sprintf("  %" wc[c] "s", cell(v, key, counters[c]))
  sub(/ +$/, "", line)
  print line
}
function item(name, text) {
  if (format == "markdown") print "- `" name "`: " text
  else printf "  %-*s  %s\n", wlegend, name, text
}
BEGIN {
  FS = "\t"
  nlabels = split(labels, label, " ")
  split(prefixes, prefix, " ")
  if (legend != "")
    while ((getline line < legend) > 0) {
      if (line ~ /^#/ || line !~ /\t/) continue
      name = line; sub(/\t.*/, "", name)
      text = line; sub(/^[^\t]*\t/, "", text)
      meaning[name] = text
      described[++ndescribed] = name
    }
}
{
  v = $1 + 0; name = $2; kind = $3
  n = split(name, part, "/")
  key = ""
  for (i = (part[1] == prefix[v] ? 2 : 1); i <= n; i++)
    if (part[i] !~ /^(iterations|repeats|min_time|min_warmup_time):/ &&
        part[i] !~ /^(real_time|process_time|manual_time)$/)
      key = key (key == "" ? "" : "/") part[i]
  # With repetitions the median's line wins over each repetition's.
  if (kind != "median" && (v, key) in median) next
  if (kind == "median") median[v, key] = 1
  if (!(key in seen)) { seen[key] = 1; keys[++nkeys] = key }
  delete failure[v, key]; delete time[v, key]
  if ($6 != "") failure[v, key] = $6
  else time[v, key] = to_ns($4, $5)
  m = split($7, pair, " ")
  for (i = 1; i <= m; i++) {
    c = pair[i]; sub(/=.*/, "", c)
    x = pair[i]; sub(/^[^=]*=/, "", x)
    if (!(c in is_counter)) { is_counter[c] = 1; counters[++ncounters] = c }
    value[v, key, c] = x
  }
}
END {
  if (format == "plot") {
    blocks = 0
    for (v = 1; v <= nlabels; v++) {
      # Series: the keys without their last part, the size.
      nseries = 0
      for (k = 1; k <= nkeys; k++) {
        key = keys[k]
        size = key; sub(/.*\//, "", size)
        series = key; if (!sub(/\/[^\/]*$/, "", series)) series = ""
        if (size !~ /^[0-9]+$/ || !((v, key) in time)) continue
        if (!((v, series) in has_series)) { has_series[v, series] = 1; order[v, ++nseries] = series }
        points[v, series] = points[v, series] size " " (time[v, key] / 1e6) "\n"
      }
      for (s = 1; s <= nseries; s++) {
        series = order[v, s]
        if (blocks++) printf "\n\n"
        printf "# %s%s\n%s", label[v], (series == "" ? "" : "/" series), points[v, series]
      }
    }
    exit
  }
  # The counters in the legend's order, then any it does not describe.
  n = 0
  for (d = 1; d <= ndescribed; d++)
    if (described[d] in is_counter && !(described[d] in placed)) { placed[described[d]] = 1; ordered[++n] = described[d] }
  for (c = 1; c <= ncounters; c++) if (!(counters[c] in placed)) ordered[++n] = counters[c]
  for (c = 1; c <= ncounters; c++) counters[c] = ordered[c]
  wkey = length("benchmark")
  for (k = 1; k <= nkeys; k++) if (length(keys[k]) > wkey) wkey = length(keys[k])
  if (format == "markdown") {
    line = "| benchmark | variant | time | time / fix time |"; rule = "|---|---|---:|---:|"
    for (c = 1; c <= ncounters; c++) { line = line " `" counters[c] "` |"; rule = rule "---:|" }
    print line; print rule
  } else {
    line = sprintf("%-" wkey "s  %-7s  %10s  %15s", "benchmark", "variant", "time", "time / fix time")
    for (c = 1; c <= ncounters; c++) {
      wc[c] = length(counters[c]) > 9 ? length(counters[c]) : 9
      line = line sprintf("  %" wc[c] "s", counters[c])
    }
    print line
  }
  for (k = 1; k <= nkeys; k++) {
    printed = 0
    for (v = 1; v <= nlabels; v++) {
      if (!((v, keys[k]) in time) && !((v, keys[k]) in failure)) continue
      row((printed++ && format != "markdown") ? "" : keys[k], v, keys[k])
    }
  }
  if (format == "text") {
    for (k = 1; k <= nkeys; k++)
      for (v = 1; v <= nlabels; v++)
        if ((v, keys[k]) in failure) printf "  %s %s: %s\n", label[v], keys[k], failure[v, keys[k]]
  }
  # The legend: every column, once.
  wlegend = length("time / fix time")
  for (c = 1; c <= ncounters; c++) if (length(counters[c]) > wlegend) wlegend = length(counters[c])
  print ""
  if (format == "markdown") print "What the columns mean:"
  else print "what the columns mean:"
  print ""
  item("benchmark", "what was measured: the series and its size argument N (benchmarks/" chapter "/ says what they are in this chapter)")
  text = "pitfall is the broken code (chapters/" chapter "/), fix the solution (solutions/" chapter "/)"
  if (nlabels >= 3) text = text ", yours your copy (" learner_dir "/" chapter "/)"
  # A series only one program registers (a reference run) has no row to compare.
  for (k = 1; k <= nkeys; k++) {
    present = 0
    for (v = 1; v <= nlabels; v++) if ((v, keys[k]) in time || (v, keys[k]) in failure) present++
    if (present == 1) lone = 1
  }
  if (lone) text = text "; a benchmark with one row only is a reference run that only that variant's program has"
  item("variant", text)
  item("time", "real (wall-clock) time per iteration, " (runs > 1 ? "the median of " runs " runs" : "from one run (--quick: indicative only)"))
  item("time / fix time", "this row's time divided by the fix's for the same benchmark: 2x takes twice as long as the fix, 0.5x half as long (empty on the fix's rows)")
  for (c = 1; c <= ncounters; c++) {
    if (counters[c] in meaning) item(counters[c], meaning[counters[c]])
    else {
      item(counters[c], "(not described: add a line to benchmarks/" chapter "/legend.tsv)")
      if (undescribed != "") print counters[c] >> undescribed
    }
  }
  for (k = 1; k <= nkeys; k++)
    for (v = 1; v <= nlabels; v++)
      if ((v, keys[k]) in failure) has_error = 1
  if (has_error) item("error", "the benchmark did not run: it stopped itself (SkipWithError) with the message shown")
}
AWK
}

# bench_render FORMAT CHAPTER(NN-slug) RUNS JSON...: the table (or plot data)
# of the chapter's results, the files in the order pitfall, fix[, yours].
bench_render() {
  local format=$1 chapter=$2 runs=$3 labels="pitfall fix" prefixes="pitfall fix"
  shift 3
  if [[ $# -ge 3 ]]; then labels+=" yours" prefixes+=" learner"; fi
  local legend="${ROOT}/benchmarks/${chapter}/legend.tsv"
  [[ -f ${legend} ]] || legend=""
  bench_rows "$@" | awk -v format="${format}" -v labels="${labels}" -v prefixes="${prefixes}" \
    -v legend="${legend}" -v chapter="${chapter}" -v runs="${runs}" \
    -v learner_dir="$(show_path "${LEARNER_DIR}")" -v undescribed="${BENCH_UNDESCRIBED:-}" \
    "$(bench_awk)"
}

# Where and how a result file was measured, in one sentence, from the context
# Google Benchmark records (and the workbook's own entries, bench_context).
bench_measured() { # JSON
  jq -r '.context | "on \(.host_name // "?") (\(.num_cpus // "?") CPUs at \(.mhz_per_cpu // "?") MHz,"
    + " load average \((.load_avg // []) | map(. * 100 | round / 100 | tostring) | join(", ")) when it began),"
    + " \(.date // "?"), a \(.workbook_build_type // "?") build by \(.workbook_compiler // "?")"' "$1"
}

# The repetitions a result file's times are the median of (1 without).
bench_runs() { # JSON
  jq -r '[.benchmarks[] | .repetitions // 1] | max // 1' "$1"
}

# The best terminal gnuplot has for PNG: cairo's anti-aliased one, else libgd's.
png_terminal() {
  if gnuplot -e 'set terminal' </dev/null 2>&1 | grep -qw pngcairo; then echo pngcairo; else echo png; fi
}

# bench_plot DATA OUT TITLE: draws time against size, one line per variant and
# series, on log scales: OUT.png and OUT.svg from DATA (bench_render plot),
# with the gnuplot script kept as OUT.gp. Returns 2 when there is nothing to plot.
bench_plot() {
  local data=$1 out=$2 title=$3 titles="" line count
  while IFS= read -r line; do
    if [[ ${line} == "# "* ]]; then titles+="${titles:+ }${line#"# "}"; fi
  done <"${data}"
  [[ -n ${titles} ]] || return 2
  count=$(wc -w <<<"${titles}")
  cat >"${out}.gp" <<GNUPLOT
set title "${title//\"/}" noenhanced
set logscale xy
set xlabel "N (the benchmark's size argument)"
set ylabel "real time per iteration (ms)"
set key top left noenhanced
set grid
titles = "${titles}"
set terminal $(png_terminal) size 800,480
set output "${out}.png"
plot for [i=0:$((count - 1))] "${data}" index i using 1:2 with linespoints linewidth 2 pointtype 7 title word(titles, i + 1)
set terminal svg size 800,480 dynamic
set output "${out}.svg"
replot
GNUPLOT
  gnuplot "${out}.gp" </dev/null
}

# Entries of our own in Google Benchmark's context (its JSON's "context"):
# what built the program, which its own entries do not say.
bench_context() {
  local build_type compiler
  build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "${BUILD_DIR}/CMakeCache.txt" 2>/dev/null)
  compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "${BUILD_DIR}/CMakeCache.txt" 2>/dev/null)
  compiler=$(basename -- "${compiler:-c++}")
  compiler+="-$("${compiler}" -dumpfullversion 2>/dev/null || echo '?')"
  printf 'workbook_build_type=%s,workbook_compiler=%s' "${build_type:-?}" "${compiler}"
}

# bench_chapter QUICK VARIANT...: builds and runs chapter CH_*'s benchmark
# against each variant (pitfall, fix, learner), then prints the table and its
# legend and draws the plot. Each result is BENCH_DIR/NN-<variant>.json, the
# learner's as NN-yours.json.
bench_chapter() {
  local quick=$1 variant program out runs extra=() jsons=()
  shift
  # Five repetitions, reported by their median, so that a table a lesson
  # quotes does not depend on one run; --quick runs each benchmark once.
  if [[ ${quick} -eq 1 ]]; then
    extra=(--benchmark_min_time=0.001)
    runs=1
  else
    extra=(--benchmark_repetitions="${BENCH_REPETITIONS}" --benchmark_report_aggregates_only=true)
    runs=${BENCH_REPETITIONS}
  fi
  extra+=(--benchmark_context="$(bench_context)")
  mkdir -p "${BENCH_DIR}"
  if [[ $# -ge 3 ]]; then
    heading "$(chapter_label): ${CH_BENCH}, the pitfall, the fix, then your copy"
  else
    heading "$(chapter_label): ${CH_BENCH}, the pitfall then the fix"
  fi
  if ! build_targets "${CH_BENCH}_pitfall" "${CH_BENCH}_fix"; then
    build_errors
    error "building ${CH_BENCH} failed: see the compiler messages above"
    return 1
  fi
  # The learner's copy apart, so that a copy that does not compile is named as such.
  if [[ " $* " == *" learner "* ]] && ! build_targets "${CH_BENCH}_learner"; then
    build_errors
    error "your copy does not compile, so it cannot be measured: see the compiler messages" \
      "above (./workbook check ${CH_ID} shows them too)"
    return 1
  fi
  for variant in "$@"; do
    program="${CH_BENCH}_${variant}"
    out="${BENCH_DIR}/${CH_ID}-${variant/learner/yours}"
    note "  running ${program}..."
    if ! "${BUILD_DIR}/${program}" "${extra[@]}" --benchmark_out="${out}.json" \
      --benchmark_out_format=json >"${out}.log" 2>&1; then
      tail -n 20 "${out}.log" >&2
      error "${program} failed (its output: ${out}.log)"
      return 1
    fi
    jsons+=("${out}.json")
  done
  bench_render text "${CH_NAME}" "${runs}" "${jsons[@]}" >"${BENCH_DIR}/${CH_ID}.txt"
  bench_render markdown "${CH_NAME}" "${runs}" "${jsons[@]}" >"${BENCH_DIR}/${CH_ID}.md"
  bench_render plot "${CH_NAME}" "${runs}" "${jsons[@]}" >"${BENCH_DIR}/${CH_ID}.dat"
  printf '\n'
  cat "${BENCH_DIR}/${CH_ID}.txt"
  local rc=0
  bench_plot "${BENCH_DIR}/${CH_ID}.dat" "${BENCH_DIR}/${CH_ID}" "chapter ${CH_ID}: ${CH_TITLE}" || rc=$?
  printf '\n'
  note "kept: $(join ', ' "${jsons[@]#"${ROOT}/"}") (Google Benchmark's JSON)"
  if [[ ${rc} -eq 2 ]]; then
    note "(nothing to plot: no benchmark has a size argument)"
  elif [[ ${rc} -ne 0 ]]; then
    error "gnuplot could not draw ${BENCH_DIR}/${CH_ID}.png"
    return 1
  else
    note "plot: ${BENCH_DIR}/${CH_ID}.png, ${CH_ID}.svg"
  fi
}

# The directory name (NN-slug) of chapter NN's benchmark, found by name
# (no build needed); empty if there is none.
bench_chapter_name() { # NN
  local dirs=("${ROOT}/benchmarks/$1"-*/)
  [[ -d ${dirs[0]} ]] || return 0
  basename -- "${dirs[0]}"
}

# The generated part of chapter NN's block in its lesson, from the committed
# JSON: where it was measured, the table and the legend. Fails, saying why,
# when the chapter has no committed results.
bench_reference_markdown() { # NN
  local id=$1 name pitfall fix
  name=$(bench_chapter_name "${id}")
  pitfall="${BENCH_REFERENCE_DIR}/${id}-pitfall.json" fix="${BENCH_REFERENCE_DIR}/${id}-fix.json"
  if [[ -z ${name} ]]; then
    error "there is no chapter ${id} in benchmarks/ (no benchmarks/${id}-*/)"
    return 1
  fi
  if [[ ! -f ${pitfall} || ! -f ${fix} ]]; then
    error "chapter ${id} has no reference results (${pitfall} and ${fix}):" \
      "./workbook bench ${id} --update-reference measures them"
    return 1
  fi
  # shellcheck disable=SC2016 # Markdown code spans, not command substitutions
  printf '\nThe reference results (`%s` and `%s`),\nmeasured %s.\nYours: `./workbook bench %s`, and with your copy beside them `./workbook bench %s --mine`.\n\n' \
    "${pitfall}" "${fix##*/}" "$(bench_measured "${fix}")" "${id}" "${id}"
  bench_render markdown "${name}" "$(bench_runs "${fix}")" "${pitfall}" "${fix}"
  printf '\n'
}

# bench_tables FIX FILE...: checks (FIX=0) or rewrites (FIX=1) the generated
# blocks of these lessons against the committed JSON. Returns 1 if a block
# differs (unless rewritten), or one cannot be made.
bench_tables() {
  local fix=$1 tmp lesson id ids problems=0 blocks=0 shown rc
  shift
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/workbook-tables.XXXXXX")
  export BENCH_UNDESCRIBED="${tmp}/undescribed"
  for lesson in "$@"; do
    shown=$(show_path "$(realpath -m -- "${lesson}")")
    ids=$(sed -nE 's/^<!-- bench-table ([0-9]+)[: ].*/\1/p' -- "${lesson}" | sort -u)
    for id in ${ids}; do
      blocks=$((blocks + 1))
      [[ -f "${tmp}/${id}.md" || -f "${tmp}/${id}.failed" ]] && continue
      : >"${BENCH_UNDESCRIBED}"
      if ! bench_reference_markdown "${id}" >"${tmp}/${id}.md"; then
        touch "${tmp}/${id}.failed"
        problems=$((problems + 1))
        error "${shown}: the table of chapter ${id} cannot be made (above)"
      elif [[ -s ${BENCH_UNDESCRIBED} ]]; then
        problems=$((problems + 1))
        error "benchmarks/$(bench_chapter_name "${id}")/legend.tsv does not explain the counter(s)" \
          "$(sort -u "${BENCH_UNDESCRIBED}" | paste -sd ' ')': add a line for each (name, a tab, what it means)"
      fi
    done
    rc=0
    awk -v dir="${tmp}" '
      /^<!-- bench-table [0-9]+[: ]/ {
        if (inside) { print FILENAME ":" FNR ": a bench-table block opens inside another" > "/dev/stderr"; exit 3 }
        id = $3; sub(/:.*/, "", id)
        print
        file = dir "/" id ".md"
        while ((getline line < file) > 0) print line
        close(file)
        inside = 1; opened = FNR
        next
      }
      inside && /^<!-- end of bench-table/ { inside = 0; print; next }
      inside { next }
      { print }
      END {
        if (inside) { print FILENAME ":" opened ": the bench-table block has no \"<!-- end of bench-table -->\" line" > "/dev/stderr"; exit 3 }
      }' "${lesson}" >"${tmp}/lesson.md" || rc=$?
    if [[ ${rc} -ne 0 ]]; then
      problems=$((problems + 1))
      continue
    fi
    cmp -s -- "${lesson}" "${tmp}/lesson.md" && continue
    if [[ ${fix} -eq 1 ]]; then
      cat -- "${tmp}/lesson.md" >"${lesson}"
      note "rewrote the reference table(s) of ${shown} from ${BENCH_REFERENCE_DIR}/"
    else
      problems=$((problems + 1))
      error "${shown}: a reference table differs from ${BENCH_REFERENCE_DIR}/ (- the lesson, + the JSON):"
      diff -U 0 --label "${shown}" --label "${BENCH_REFERENCE_DIR}" -- "${lesson}" "${tmp}/lesson.md" |
        head -n 20 >&2 || true
    fi
  done
  rm -rf -- "${tmp}"
  if [[ ${problems} -gt 0 ]]; then
    [[ ${fix} -eq 1 ]] || error "./workbook bench --tables --fix rewrites the tables from the JSON" \
      "(a number is never edited by hand: ./workbook bench NN --update-reference measures again)"
    return 1
  fi
  note "${blocks} reference table(s) in $# lesson(s) match ${BENCH_REFERENCE_DIR}/"
}

# ./workbook bench --tables [--fix] [CHAPTER|LESSON ...]
bench_tables_command() {
  local fix=0 arg page lessons=() matches
  for arg in "$@"; do
    case ${arg} in
      --tables) ;;
      --fix) fix=1 ;;
      -*) die 2 "unknown option '${arg}' for bench --tables (see ./workbook bench --help)" ;;
      *.md)
        [[ -f $(caller_path "${arg}") ]] || die 2 "no such lesson: ${arg}"
        lessons+=("$(caller_path "${arg}")")
        ;;
      *)
        page=${arg}
        [[ ${page} =~ ^[0-9]$ ]] && page="0${page}"
        matches=("${ROOT}"/chapters/"${page%%-*}"-*/README.md)
        [[ -f ${matches[0]} ]] ||
          die 2 "unknown chapter '${arg}': no chapters/${page%%-*}-*/README.md (name a chapter such as 05, or a lesson file)"
        lessons+=("${matches[0]}")
        ;;
    esac
  done
  if [[ ${#lessons[@]} -eq 0 ]]; then lessons=("${ROOT}"/chapters/*/README.md); fi
  command -v jq >/dev/null 2>&1 || die 3 "jq is not installed: ./workbook doctor says how to install it"
  bench_tables "${fix}" "${lessons[@]}" || exit 1
}

# ./workbook bench --docs DIR: every chapter's table, legend and plot from the
# committed JSON, and the Benchmarks page (DIR/summary.md) that shows them.
# The documentation's build runs it (docs/CMakeLists.txt): no build tree needed.
bench_docs() { # DIR
  local dir=$1 id slug title pitfall name
  [[ -n ${dir} ]] || die 2 "bench --docs needs the directory to write the pages and plots to"
  dir=$(caller_path "${dir}")
  mkdir -p -- "${dir}"
  {
    printf '# Benchmarks {#benchmarks}\n\n'
    printf 'Each chapter'"'"'s benchmark, built against the pitfall and against the fix, as measured on\n'
    # shellcheck disable=SC2016 # Markdown code spans, not command substitutions
    printf 'the reference machine (`%s/`, refreshed by `./workbook bench --all\n' "${BENCH_REFERENCE_DIR}"
    # shellcheck disable=SC2016
    printf -- '--update-reference`). Each plot draws the time per iteration against the size argument N, on\n'
    # shellcheck disable=SC2016
    printf 'log scales. `./workbook bench NN` measures a chapter on your machine, `--mine` your copy too.\n'
  } >"${dir}/summary.md"
  local catalog line
  catalog=$(jq -r '.chapters[] | [.id, .slug, .title] | @tsv' chapters/catalog.json)
  while IFS= read -r line; do
    IFS=$'\t' read -r id slug title <<<"${line}"
    pitfall="${BENCH_REFERENCE_DIR}/${id}-pitfall.json"
    name="${id}-${slug}"
    [[ -f ${pitfall} ]] || continue
    bench_reference_markdown "${id}" >"${dir}/${id}.md"
    bench_render plot "${name}" 1 "${pitfall}" "${BENCH_REFERENCE_DIR}/${id}-fix.json" >"${dir}/${id}.dat"
    {
      printf '\n## Chapter %s: %s\n\n' "${id}" "${title}"
      if grep -q "{#ch${id}}" "chapters/${name}/README.md" 2>/dev/null; then
        printf 'The lesson: \\ref ch%s.\n\n' "${id}"
      fi
      cat "${dir}/${id}.md"
    } >>"${dir}/summary.md"
    if bench_plot "${dir}/${id}.dat" "${dir}/${id}" "chapter ${id}: ${title}"; then
      printf '\n\\image html %s.png "Chapter %s: time per iteration against N (log scales)"\n' \
        "${id}" "${id}" >>"${dir}/summary.md"
    fi
  done <<<"${catalog}"
  note "the Benchmarks page and plots: ${dir}/summary.md, ${dir}/NN.png"
}

# Copies chapter CH_*'s results just measured into the committed reference.
bench_update_reference() {
  local variant
  mkdir -p -- "${BENCH_REFERENCE_DIR}"
  for variant in pitfall fix; do
    cp -- "${BENCH_DIR}/${CH_ID}-${variant}.json" "${BENCH_REFERENCE_DIR}/${CH_ID}-${variant}.json"
  done
  note "reference results replaced: ${BENCH_REFERENCE_DIR}/${CH_ID}-pitfall.json, ${CH_ID}-fix.json"
}

# Writes BENCH_DIR/summary.md, a page of every chapter's table and plot as
# measured by bench --all on this machine.
write_bench_summary() { # QUICK(0/1)
  local quick=$1 page="${BENCH_DIR}/summary.md" i build_type
  build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "${BUILD_DIR}/CMakeCache.txt")
  {
    printf '# Benchmarks on this machine\n\n'
    printf 'Each chapter'"'"'s benchmark built against the pitfall and against the fix, measured by\n'
    # shellcheck disable=SC2016 # Markdown code spans, not command substitutions
    printf '`./workbook bench --all` on %s (%s cores, %s build%s).\n' \
      "$(date -u +%Y-%m-%d)" "$(nproc 2>/dev/null || echo '?')" "${build_type:-?}" \
      "$([[ ${quick} -eq 1 ]] && echo ', quick runs: indicative only')"
    for i in "${!CHAPTER_IDS[@]}"; do
      use_chapter "${i}"
      [[ -f "${BENCH_DIR}/${CH_ID}.md" ]] || continue
      printf '\n## Chapter %s: %s\n\n' "${CH_ID}" "${CH_TITLE}"
      cat "${BENCH_DIR}/${CH_ID}.md"
      if [[ -f "${BENCH_DIR}/${CH_ID}.png" ]]; then
        printf '\n![chapter %s: time per iteration against N (log scales)](%s.png)\n' "${CH_ID}" "${CH_ID}"
      fi
    done
  } >"${page}"
  note "every chapter's table and plot: ${page} (the documentation shows the reference results instead: ${BENCH_REFERENCE_DIR}/)"
}

cmd_bench() {
  local arg
  for arg in "$@"; do
    case ${arg} in
      --tables)
        bench_tables_command "$@"
        return 0
        ;;
      --docs)
        [[ $# -eq 2 && $1 == --docs ]] || die 2 "usage: ./workbook bench --docs DIR"
        bench_docs "$2"
        return 0
        ;;
    esac
  done
  parse_args bench "--all --quick --mine --update-reference" "$@"
  local quick=0 update=0 i failed=() variants=(pitfall fix) fd=""
  has_flag --quick && quick=1
  has_flag --update-reference && update=1
  if has_flag --all; then
    [[ -z ${ARG_CHAPTER} ]] || die 2 "bench takes a chapter or --all, not both"
    has_flag --mine && die 2 "--mine measures your copy of one chapter: name it, e.g. ./workbook bench 03 --mine"
  else
    require_chapter_arg bench
  fi
  if [[ ${update} -eq 1 ]]; then
    [[ ${quick} -eq 0 ]] || die 2 "--update-reference records the median of ${BENCH_REPETITIONS} runs; --quick runs once: drop one of them"
    has_flag --mine && die 2 "--update-reference records the pitfall and the fix, never your copy: drop --mine"
  fi
  ensure_dependencies
  ensure_configured
  if [[ -n ${ARG_CHAPTER} ]]; then
    select_chapter "${ARG_CHAPTER}"
    if has_flag --mine; then
      is_started || die 1 "$(chapter_label) is not started, so there is no copy of yours to measure:" \
        "./workbook start ${CH_ID} gives you one (./workbook bench ${CH_ID} measures the pitfall and the fix)"
      require_complete
      variants+=(learner)
      # A check of this chapter relinks the learner's code: one at a time.
      take_lock "${BUILD_DIR}/.workbook-check-${CH_ID}.lock" \
        "a check of chapter ${CH_ID} is running in ${BUILD_DIR}; waiting for it to finish..."
      fd=${LOCK_FD}
    fi
    bench_chapter "${quick}" "${variants[@]}" || exit 1
    release_lock "${fd}"
    if [[ ${update} -eq 1 ]]; then
      bench_update_reference
      bench_tables 1 "${ROOT}"/chapters/*/README.md || exit 1
    fi
    return 0
  fi
  for i in "${!CHAPTER_IDS[@]}"; do
    use_chapter "${i}"
    printf '\n[%d/%d] ' $((i + 1)) "${#CHAPTER_IDS[@]}"
    if bench_chapter "${quick}" pitfall fix; then
      [[ ${update} -eq 0 ]] || bench_update_reference
    else
      failed+=("${CH_ID}")
    fi
  done
  printf '\n'
  write_bench_summary "${quick}"
  if [[ ${update} -eq 1 ]]; then bench_tables 1 "${ROOT}"/chapters/*/README.md || failed+=(tables); fi
  if [[ ${#failed[@]} -gt 0 ]]; then
    printf '%s: the benchmarks of chapter(s) %s did not run (see above)\n' "$(verdict 1)" \
      "$(join ', ' "${failed[@]}")"
    exit 1
  fi
}

help_bench() {
  cat <<EOF
usage: ./workbook bench NN [--quick] [--mine]
       ./workbook bench --all [--quick]
       ./workbook bench NN|--all --update-reference
       ./workbook bench --tables [--fix] [CHAPTER|LESSON ...]

Builds and runs chapter NN's benchmark (Google Benchmark) against the pitfall,
then against the fix, and prints a table: per benchmark (its series and size
N), the pitfall's row and the fix's, with the time per iteration, that time
divided by the fix's, and the lesson's counters. A legend under the table
says what every column means (the counters' meanings are in
benchmarks/NN-slug/legend.tsv). It keeps Google Benchmark's JSON and draws time
against size with gnuplot, on log scales, in ${BENCH_DIR}/:
  NN-pitfall.json NN-fix.json   the results
  NN.png NN.svg                 the plot
--mine        measures your copy (my-work/NN-slug/) too, as a third row per
              benchmark, "yours" (NN-yours.json): the chapter must be started.
--all         every chapter; writes ${BENCH_DIR}/summary.md, a page of every
              chapter's table and plot.
Each benchmark runs ${BENCH_REPETITIONS} times (--benchmark_repetitions=${BENCH_REPETITIONS}) and the table shows
the median of the runs, time and counters alike.
--quick       runs each benchmark once (--benchmark_min_time=0.001): fast, not precise.

The lessons' tables are the reference machine's results, committed as
Google Benchmark's JSON in ${BENCH_REFERENCE_DIR}/ (its README says how they were
measured) and generated into each lesson between "<!-- bench-table NN" and
"<!-- end of bench-table NN -->", like the documentation's plots.
--update-reference  measures again (NN, or --all) on this machine, replaces
              the JSON and rewrites the lessons' tables from it.
--tables      checks that every lesson's table is its JSON's (the test
              docs/bench-tables does the same); with --fix rewrites them.
              Name chapters (05) or lesson files to do only those.
EOF
}
