// Registering a chapter benchmark's matrix with Google Benchmark: this build's
// variant (pitfall or fix) × {sequential, concurrent} × problem sizes. Only
// benchmark programs include this header (it needs benchmark/benchmark.h).
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "workbook/variant.hpp"

namespace workbook {

/// Registers `run(state, concurrent)` as "<variant>/sequential" (concurrent =
/// false) and "<variant>/concurrent" (true), each for every size in `sizes`
/// (read back with state.range(0)), timed in real time and reported in
/// milliseconds. Returns both registrations, for settings of a chapter's own.
template <typename Run>
std::vector<benchmark::internal::Benchmark*> register_matrix(
    Run run, const std::vector<std::int64_t>& sizes = {1, 8, 64}) {
  std::vector<benchmark::internal::Benchmark*> registered;
  for (const bool concurrent : {false, true}) {
    const std::string name =
        std::string(variant_name()) + (concurrent ? "/concurrent" : "/sequential");
    auto* benchmark = benchmark::RegisterBenchmark(name.c_str(), run, concurrent);
    for (const std::int64_t size : sizes) benchmark->Arg(size);
    benchmark->Unit(benchmark::kMillisecond)->UseRealTime();
    registered.push_back(benchmark);
  }
  return registered;
}

}  // namespace workbook
