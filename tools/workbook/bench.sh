# shellcheck shell=bash
# Sourced by ./workbook (see its header); not a program of its own.

# ---------------------------------------------------------------------------
# Benchmarks: tables from Google Benchmark's CSV, plots with gnuplot
# ---------------------------------------------------------------------------
#
# For chapter NN, build/<preset>/bench/ keeps:
#   NN-pitfall.json, NN-fix.json   Google Benchmark's own results (JSON)
#   NN-pitfall.csv, NN-fix.csv     the same as CSV, which awk reads
#   NN.txt, NN.md                  the table, for the terminal and for the docs
#   NN.dat, NN.png, NN.svg         the plot's data and the plot
# and bench --all writes summary.md, the docs' "Benchmarks" page.

# The awk program reading a chapter's two CSV files (pitfall, then fix). A
# benchmark's name reads "<variant>/<series...>/<size>[/iterations:N]/real_time";
# its key is the name without the variant and without the run options that do
# not tell rows apart (iterations, repeats, minimum times: a named argument or a
# thread count such as "threads:2" stays). A benchmark whose first part is not
# the binary's variant, such as a reference run registered by one build only,
# keeps that part and gets rows of its own. FORMAT is:
#   text      the table for the terminal: per key a pitfall and a fix row with
#             the time per iteration, the fix's speed-up and the counters
#   markdown  the same table in Markdown, for the docs
#   plot      gnuplot data: one block per variant and series ("# title" line,
#             then "size milliseconds" lines), blocks separated by two blank lines
bench_awk() {
  cat <<'AWK'
function split_csv(line, out,    n, i, c, field, quoted) {
  for (i in out) delete out[i]
  n = 0; field = ""; quoted = 0
  for (i = 1; i <= length(line); i++) {
    c = substr(line, i, 1)
    if (quoted) {
      if (c == "\"") {
        if (substr(line, i + 1, 1) == "\"") { field = field c; i++ } else quoted = 0
      } else field = field c
    } else if (c == "\"") quoted = 1
    else if (c == ",") { out[++n] = field; field = "" }
    else field = field c
  }
  out[++n] = field
  return n
}
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
function speedup(key,    ratio) {
  if (!((1, key) in time) || !((2, key) in time) || time[2, key] == 0) return ""
  ratio = time[1, key] / time[2, key]
  return sprintf(ratio >= 10 ? "%.0fx" : ratio >= 0.1 ? "%.1fx" : "%.2gx", ratio)
}
function row(first, v, key,    c, line) {
  if (format == "markdown") {
    line = "| " first " | " variant[v] " | " time_cell(v, key) " | " (v == 2 ? speedup(key) : "") " |"
    for (c = 1; c <= ncounters; c++) line = line " " cell(v, key, counters[c]) " |"
    print line
    return
  }
  line = sprintf("%-" wkey "s  %-7s  %10s  %12s", first, variant[v], time_cell(v, key), (v == 2 ? speedup(key) : ""))
  for (c = 1; c <= ncounters; c++) line = line sprintf("  %" wc[c] "s", cell(v, key, counters[c]))
  sub(/ +$/, "", line)
  print line
}
BEGIN { variant[1] = "pitfall"; variant[2] = "fix" }
FNR == 1 {
  file++
  ncols = split_csv($0, header)
  for (i = 1; i <= ncols; i++) col[file, header[i]] = i
  # The lesson's counters: every column after Google Benchmark's own.
  for (i = col[file, "error_message"] + 1; i <= ncols; i++)
    if (!(header[i] in is_counter)) { is_counter[header[i]] = 1; counters[++ncounters] = header[i] }
  next
}
{
  split_csv($0, f)
  name = f[col[file, "name"]]
  # With repetitions, each repetition's row comes first and the median's row
  # after them: the median's figures (time and counters) are the ones kept.
  if (name ~ /_(mean|stddev|cv|min|max)$/) next
  sub(/_median$/, "", name)
  n = split(name, part, "/")
  key = ""
  for (i = (part[1] == variant[file] ? 2 : 1); i <= n; i++)
    if (part[i] !~ /^(iterations|repeats|min_time|min_warmup_time):/ &&
        part[i] !~ /^(real_time|process_time|manual_time)$/)
      key = key (key == "" ? "" : "/") part[i]
  if (!(key in seen)) { seen[key] = 1; keys[++nkeys] = key }
  if (f[col[file, "error_occurred"]] == "true") failure[file, key] = f[col[file, "error_message"]]
  else time[file, key] = to_ns(f[col[file, "real_time"]], f[col[file, "time_unit"]])
  for (c = 1; c <= ncounters; c++)
    if ((file, counters[c]) in col && f[col[file, counters[c]]] != "")
      value[file, key, counters[c]] = f[col[file, counters[c]]]
}
END {
  if (format == "plot") {
    blocks = 0
    for (v = 1; v <= 2; v++) {
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
        printf "# %s%s\n%s", variant[v], (series == "" ? "" : "/" series), points[v, series]
      }
    }
    exit
  }
  wkey = length("benchmark")
  for (k = 1; k <= nkeys; k++) if (length(keys[k]) > wkey) wkey = length(keys[k])
  if (format == "markdown") {
    line = "| benchmark | variant | time | fix speed-up |"; rule = "|---|---|---:|---:|"
    for (c = 1; c <= ncounters; c++) { line = line " `" counters[c] "` |"; rule = rule "---:|" }
    print line; print rule
  } else {
    line = sprintf("%-" wkey "s  %-7s  %10s  %12s", "benchmark", "variant", "time", "fix speed-up")
    for (c = 1; c <= ncounters; c++) {
      wc[c] = length(counters[c]) > 9 ? length(counters[c]) : 9
      line = line sprintf("  %" wc[c] "s", counters[c])
    }
    print line
  }
  for (k = 1; k <= nkeys; k++) {
    printed = 0
    for (v = 1; v <= 2; v++) {
      if (!((v, keys[k]) in time) && !((v, keys[k]) in failure)) continue
      row((printed++ && format != "markdown") ? "" : keys[k], v, keys[k])
    }
  }
  if (format == "text")
    for (k = 1; k <= nkeys; k++)
      for (v = 1; v <= 2; v++)
        if ((v, keys[k]) in failure) printf "  %s %s: %s\n", variant[v], keys[k], failure[v, keys[k]]
}
AWK
}

bench_render() { # FORMAT PITFALL_CSV FIX_CSV
  awk -v format="$1" "$(bench_awk)" "$2" "$3"
}

# The best terminal gnuplot has for PNG: cairo's anti-aliased one, else libgd's.
png_terminal() {
  if gnuplot -e 'set terminal' 2>&1 | grep -qw pngcairo; then echo pngcairo; else echo png; fi
}

# Draws time against size, one line per variant and series, on log scales:
# NN.png and NN.svg from NN.dat, with the gnuplot script kept as NN.gp.
bench_plot() {
  local data="${BENCH_DIR}/${CH_ID}.dat" script="${BENCH_DIR}/${CH_ID}.gp" titles="" line count
  while IFS= read -r line; do
    if [[ ${line} == "# "* ]]; then titles+="${titles:+ }${line#"# "}"; fi
  done <"${data}"
  if [[ -z ${titles} ]]; then
    note "(nothing to plot: no benchmark has a size argument)"
    return 0
  fi
  count=$(wc -w <<<"${titles}")
  cat >"${script}" <<GNUPLOT
set title "chapter ${CH_ID}: ${CH_TITLE//\"/}" noenhanced
set logscale xy
set xlabel "N (the benchmark's size argument)"
set ylabel "real time per iteration (ms)"
set key top left noenhanced
set grid
titles = "${titles}"
set terminal $(png_terminal) size 800,480
set output "${BENCH_DIR}/${CH_ID}.png"
plot for [i=0:$((count - 1))] "${data}" index i using 1:2 with linespoints linewidth 2 pointtype 7 title word(titles, i + 1)
set terminal svg size 800,480 dynamic
set output "${BENCH_DIR}/${CH_ID}.svg"
replot
GNUPLOT
  gnuplot "${script}"
}

# Builds and runs chapter CH_*'s benchmark against the pitfall and the fix,
# then prints the table and draws the plot. EXTRA goes to both programs.
bench_chapter() { # QUICK(0/1)
  local quick=$1 variant program extra=()
  # Five repetitions, reported by their median, so that a table a lesson
  # quotes does not depend on one run; --quick runs each benchmark once.
  if [[ ${quick} -eq 1 ]]; then
    extra=(--benchmark_min_time=0.001)
  else
    extra=(--benchmark_repetitions=5)
  fi
  mkdir -p "${BENCH_DIR}"
  heading "$(chapter_label): ${CH_BENCH}, the pitfall then the fix"
  if ! build_targets "${CH_BENCH}_pitfall" "${CH_BENCH}_fix"; then
    build_errors
    error "building ${CH_BENCH} failed: see the compiler messages above"
    return 1
  fi
  for variant in pitfall fix; do
    program="${CH_BENCH}_${variant}"
    note "  running ${program}..."
    if ! "${BUILD_DIR}/${program}" "${extra[@]}" --benchmark_format=csv \
      --benchmark_out="${BENCH_DIR}/${CH_ID}-${variant}.json" --benchmark_out_format=json \
      >"${BENCH_DIR}/${CH_ID}-${variant}.csv" 2>"${BENCH_DIR}/${CH_ID}-${variant}.log"; then
      tail -n 20 "${BENCH_DIR}/${CH_ID}-${variant}.log" >&2
      error "${program} failed (its output: ${BENCH_DIR}/${CH_ID}-${variant}.log)"
      return 1
    fi
  done
  local csvs=("${BENCH_DIR}/${CH_ID}-pitfall.csv" "${BENCH_DIR}/${CH_ID}-fix.csv")
  bench_render text "${csvs[@]}" >"${BENCH_DIR}/${CH_ID}.txt"
  bench_render markdown "${csvs[@]}" >"${BENCH_DIR}/${CH_ID}.md"
  bench_render plot "${csvs[@]}" >"${BENCH_DIR}/${CH_ID}.dat"
  printf '\n'
  note "real time per iteration; the fix's speed-up is the pitfall's time over the fix's"
  cat "${BENCH_DIR}/${CH_ID}.txt"
  bench_plot || {
    error "gnuplot could not draw ${BENCH_DIR}/${CH_ID}.png"
    return 1
  }
  printf '\n'
  note "kept: ${BENCH_DIR}/${CH_ID}-pitfall.json, ${CH_ID}-fix.json (Google Benchmark's JSON)"
  note "plot: ${BENCH_DIR}/${CH_ID}.png, ${CH_ID}.svg"
}

# Writes the docs' Benchmarks page from the tables and plots of every chapter.
write_bench_summary() { # QUICK(0/1)
  local quick=$1 page="${BENCH_DIR}/summary.md" i build_type
  build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "${BUILD_DIR}/CMakeCache.txt")
  {
    printf '# Benchmarks {#benchmarks}\n\n'
    printf 'Each chapter'"'"'s benchmark built against the pitfall and against the fix, measured by\n'
    # shellcheck disable=SC2016 # Markdown code spans, not command substitutions
    printf '`./workbook bench --all` on %s (%s cores, %s build%s). Times are real time per\n' \
      "$(date -u +%Y-%m-%d)" "$(nproc 2>/dev/null || echo '?')" "${build_type:-?}" \
      "$([[ ${quick} -eq 1 ]] && echo ', quick runs: indicative only')"
    printf 'iteration; the fix'"'"'s speed-up is the pitfall'"'"'s time over the fix'"'"'s. The\n'
    printf 'counters are the lesson'"'"'s own (see each chapter).\n'
    for i in "${!CHAPTER_IDS[@]}"; do
      use_chapter "${i}"
      [[ -f "${BENCH_DIR}/${CH_ID}.md" ]] || continue
      printf '\n## Chapter %s: %s\n\n' "${CH_ID}" "${CH_TITLE}"
      if grep -q "{#ch${CH_ID}}" "${CH_LESSON}" 2>/dev/null; then
        printf 'The lesson: \\ref ch%s.\n\n' "${CH_ID}"
      fi
      cat "${BENCH_DIR}/${CH_ID}.md"
      if [[ -f "${BENCH_DIR}/${CH_ID}.png" ]]; then
        printf '\n\\image html %s.png "Chapter %s: time per iteration against N (log scales)"\n' \
          "${CH_ID}" "${CH_ID}"
      fi
    done
  } >"${page}"
  note "the docs' Benchmarks page: ${page} (./workbook test builds the docs with it)"
}

cmd_bench() {
  parse_args bench "--all --quick" "$@"
  local quick=0 i failed=()
  has_flag --quick && quick=1
  if has_flag --all; then
    [[ -z ${ARG_CHAPTER} ]] || die 2 "bench takes a chapter or --all, not both"
  else
    require_chapter_arg bench
  fi
  ensure_dependencies
  ensure_configured
  if [[ -n ${ARG_CHAPTER} ]]; then
    select_chapter "${ARG_CHAPTER}"
    bench_chapter "${quick}" || exit 1
    return 0
  fi
  for i in "${!CHAPTER_IDS[@]}"; do
    use_chapter "${i}"
    printf '\n[%d/%d] ' $((i + 1)) "${#CHAPTER_IDS[@]}"
    bench_chapter "${quick}" || failed+=("${CH_ID}")
  done
  printf '\n'
  write_bench_summary "${quick}"
  if [[ ${#failed[@]} -gt 0 ]]; then
    printf '%s: the benchmarks of chapter(s) %s did not run (see above)\n' "$(verdict 1)" \
      "$(join ', ' "${failed[@]}")"
    exit 1
  fi
}

help_bench() {
  cat <<EOF
usage: ./workbook bench NN [--quick]
       ./workbook bench --all [--quick]

Builds and runs chapter NN's benchmark (Google Benchmark) against the pitfall,
then against the fix, and prints a table: per size, pitfall and fix, sequential
and concurrent, the time per iteration, the fix's speed-up and the lesson's
counters. It keeps Google Benchmark's JSON and draws time against size with
gnuplot, on log scales, in ${BENCH_DIR}/:
  NN-pitfall.json NN-fix.json   the results
  NN.png NN.svg                 the plot
--all does every chapter and writes ${BENCH_DIR}/summary.md, the
documentation's Benchmarks page (tables and plots).
Each benchmark runs 5 times (--benchmark_repetitions=5) and the table shows
the median of the five, time and counters alike.
--quick runs each benchmark once (--benchmark_min_time=0.001): fast, not precise.
EOF
}
