// Micro-benchmarks of what the key controls (SPEC §7) add to an inbound request:
//   the hourly usage count (one per 202 / duplicate / refusal with a known key),
//   the allowed-IPs check (only for keys that have a list).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "cc/keys/ip_allowlist.hpp"
#include "cc/keys/usage_counter.hpp"

namespace {

using namespace cc;

// The counter every accepted request bumps; shared by the threads, as one hot key is.
keys::usage_counter shared_counter;

void BM_UsageCounterAdd(benchmark::State& state) {
    util::millis now = 1'764'000'000'000;
    for (auto _ : state) {
        shared_counter.add(keys::usage_kind::accepted, now);
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_UsageCounterAdd)->Threads(1)->Threads(2);

void BM_AllowlistAllows(benchmark::State& state) {
    // Worst case: the client matches the last entry, after N-1 misses.
    std::vector<std::string> entries;
    for (int i = 0; i + 1 < state.range(0); ++i) entries.push_back("10." + std::to_string(i) + ".0.0/16");
    entries.push_back("203.0.113.0/24");
    const auto list = keys::ip_allowlist::from_entries(entries);
    const std::string client = "203.0.113.77";
    for (auto _ : state) benchmark::DoNotOptimize(list.allows(client));
}
BENCHMARK(BM_AllowlistAllows)->Arg(1)->Arg(50);

void BM_AllowlistAllowsIpv6(benchmark::State& state) {
    const auto list = keys::ip_allowlist::from_entries({"2001:db8:abcd::/48"});
    const std::string client = "2001:db8:abcd:12::7";
    for (auto _ : state) benchmark::DoNotOptimize(list.allows(client));
}
BENCHMARK(BM_AllowlistAllowsIpv6);

}  // namespace
