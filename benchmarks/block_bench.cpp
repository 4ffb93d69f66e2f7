// Cost of evaluating blocks: exact multiply-accumulate vs table gather vs a virtual apply()
// call per product, and the exhaustive characterization of each built-in family.
// Run: build/bin/block_bench   (compare items_per_second of the MAC variants).
#include <benchmark/benchmark.h>

#include "hawx/framework/openmp_policy.hpp"

#include <random>

#include "hawx/framework/plugin_manager.hpp"

namespace {

constexpr std::size_t kPairs = 1 << 20;

struct Operands {
    std::vector<std::int8_t> a, w;
    Operands() : a(kPairs), w(kPairs) {
        std::mt19937 rng(1);
        std::uniform_int_distribution<int> d(-128, 127);
        for (std::size_t i = 0; i < kPairs; ++i) {
            a[i] = static_cast<std::int8_t>(d(rng));
            w[i] = static_cast<std::int8_t>(d(rng));
        }
    }
};
const Operands& operands() {
    static const Operands o;
    return o;
}

std::shared_ptr<hawx::ApproxBlock> make(const std::string& name, const nlohmann::json& params) {
    static hawx::PluginManager pm(hawx::plugin_search_path({}));
    const auto& e = pm.find(name, hawx::Kind::Block);
    return pm.create<hawx::ApproxBlock>(e, pm.resolve_params(e, params, name, ""), name);
}

void BM_ExactMac(benchmark::State& state) {
    const auto& o = operands();
    for (auto _ : state) {
        std::int64_t acc = 0;
        for (std::size_t i = 0; i < kPairs; ++i) acc += static_cast<std::int32_t>(o.a[i]) * o.w[i];
        benchmark::DoNotOptimize(acc);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kPairs));
}
BENCHMARK(BM_ExactMac);

void BM_TableGatherMac(benchmark::State& state) {
    const auto& o = operands();
    const auto t32 = hawx::block_table(*make("core.truncated_mul", {{"k", 4}}));
    std::vector<std::int16_t> table(t32.begin(), t32.end());  // 128 KiB, as hardware tables are stored
    for (auto _ : state) {
        std::int64_t acc = 0;
        for (std::size_t i = 0; i < kPairs; ++i)
            acc += table[(static_cast<std::uint8_t>(o.a[i]) << 8) | static_cast<std::uint8_t>(o.w[i])];
        benchmark::DoNotOptimize(acc);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kPairs));
}
BENCHMARK(BM_TableGatherMac);

void BM_VirtualApplyMac(benchmark::State& state) {
    const auto& o = operands();
    const auto block = make("core.truncated_mul", {{"k", 4}});
    for (auto _ : state) {
        std::int64_t acc = 0;
        for (std::size_t i = 0; i < kPairs; ++i) acc += block->apply(o.a[i], o.w[i]);
        benchmark::DoNotOptimize(acc);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kPairs));
}
BENCHMARK(BM_VirtualApplyMac);

void BM_Characterize(benchmark::State& state, const char* name, nlohmann::json params) {
    const auto block = make(name, params);
    for (auto _ : state) benchmark::DoNotOptimize(hawx::characterize(*block));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 65536));
}
BENCHMARK_CAPTURE(BM_Characterize, exact, "core.exact_mul", nlohmann::json::object());
BENCHMARK_CAPTURE(BM_Characterize, truncated, "core.truncated_mul", nlohmann::json{{"k", 4}});
BENCHMARK_CAPTURE(BM_Characterize, bam, "core.bam_mul", nlohmann::json{{"hbl", 2}, {"vbl", 6}});
BENCHMARK_CAPTURE(BM_Characterize, drum, "core.drum_mul", nlohmann::json{{"k", 4}});
BENCHMARK_CAPTURE(BM_Characterize, mitchell, "core.mitchell_mul", nlohmann::json::object());

}  // namespace

// The OpenMP wait policy (hawx/framework/openmp_policy.hpp) as hawx runs with it.
int main(int argc, char** argv) {
    hawx::prefer_passive_openmp(argv);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
