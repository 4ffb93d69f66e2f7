// Whole-model inference, batch 64, same threads: exact float LibTorch (BM_Float, the
// baseline) vs the engine's bit-exact quantized inference with one block in every layer
// (BM_Approx). The label gives the block's error rank R and the number of float32 terms the
// separable path runs (or "gather"). Ratio = real_time(BM_Approx) / real_time(BM_Float) of
// the same model in the same run; the targets are <= R + 1.5 (separable) and <= 15
// (full-rank table, gather path).
// Run: build/bin/engine_model_bench [--benchmark_filter=lenet5] [--layer_times]
#include <benchmark/benchmark.h>

#include "hawx/framework/openmp_policy.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "hawx/engine/engine.hpp"
#include "bench_blocks.hpp"
#include "hawx/zoo/network.hpp"

namespace {

using namespace hawx::engine;

constexpr std::int64_t kBatch = 64;

struct ModelCase {
    const char* name;
    hawx::zoo::ModelOptions options;
};
const std::vector<ModelCase>& models() {
    static const std::vector<ModelCase> m = {
        {"lenet5", {1, 32, 10, 1.0}},
        {"vgg11", {3, 32, 10, 1.0}},
        {"resnet18", {3, 32, 10, 1.0}},
    };
    return m;
}

int threads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

using hawx::bench::block;

const BlockLibrary& library() {
    static const BlockLibrary lib = {
        block("core.exact_mul", {}, "EX"),
        block("core.truncated_mul", {{"k", 1}}, "T1"),
        block("core.truncated_mul", {{"k", 2}}, "T2"),
        block("core.truncated_mul", {{"k", 3}}, "T3"),
        block("core.drum_mul", {{"k", 4}}, "DRUM4"),
        block("core.bam_mul", {{"hbl", 1}, {"vbl", 6}}, "BAM16"),
        block("core.mitchell_mul", {}, "MIT"),
    };
    return lib;
}

struct Prepared {
    std::shared_ptr<hawx::zoo::Network> net;
    at::Tensor x;
};
Prepared prepare(const ModelCase& mc) {
    torch::manual_seed(1);
    Prepared p;
    p.net = hawx::zoo::make_model(mc.name, mc.options);
    p.net->eval();
    hawx::zoo::fold_batchnorm(*p.net);
    p.x = torch::randn({kBatch, mc.options.in_channels, mc.options.input_size, mc.options.input_size});
    return p;
}

void BM_Float(benchmark::State& state) {
    const ModelCase& mc = models()[static_cast<std::size_t>(state.range(0))];
    at::set_num_threads(threads());
    Prepared p = prepare(mc);
    p.net->set_runner(nullptr);
    torch::NoGradGuard ng;
    for (auto _ : state) benchmark::DoNotOptimize(p.net->forward(p.x));
    state.SetLabel(mc.name);
}

// --layer_times: after each BM_Approx, where one forward pass spends its time, per layer.
bool g_layer_times = false;

void print_layer_times(Engine& e, Prepared& p, const std::string& what) {
    constexpr int kRuns = 3;
    e.reset_timings();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kRuns; ++i) p.net->forward(p.x);
    const double whole = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / kRuns;
    const auto t = e.layer_timings();
    double layers = 0;
    std::printf("%s: %.1f ms per forward pass\n", what.c_str(), 1e3 * whole);
    for (std::size_t l = 0; l < t.size(); ++l) {
        const double acc = t[l].accumulate_s / kRuns, deq = t[l].dequantize_s / kRuns, set = t[l].setup_s / kRuns;
        layers += acc + deq + set;
        std::string d = e.describe_layer(static_cast<int>(l + 1));
        if (const auto nl = d.find('\n'); nl != std::string::npos) d.resize(nl);
        std::printf("  layer %2zu: accumulate %7.2f ms, dequantize %6.2f ms, setup %5.2f ms  %s\n", l + 1, 1e3 * acc,
                    1e3 * deq, 1e3 * set, d.c_str());
    }
    std::printf("  layers %.1f ms, the rest of the network %.1f ms\n", 1e3 * layers, 1e3 * (whole - layers));
}

void BM_Approx(benchmark::State& state) {
    const ModelCase& mc = models()[static_cast<std::size_t>(state.range(0))];
    const int b = static_cast<int>(state.range(1));
    EngineOptions o;
    o.threads = threads();
    Engine e(library(), o);
    Prepared p = prepare(mc);
    p.net->set_runner(&e);
    torch::NoGradGuard ng;
    e.begin_calibration();
    p.net->forward(p.x);
    e.finish_calibration();
    e.set_assignment(ModelAssignment::uniform(b, p.net->layer_descs().size()));
    p.net->forward(p.x);  // builds every layer's kernel once
    for (auto _ : state) benchmark::DoNotOptimize(p.net->forward(p.x));
    const auto& blk = *library()[static_cast<std::size_t>(b)];
    if (g_layer_times) print_layer_times(e, p, std::string(mc.name) + " " + blk.name);
    state.SetLabel(std::string(mc.name) + " " + blk.name + " R=" + (blk.rank() < 0 ? "full" : std::to_string(blk.rank())) +
                   " terms=" + (blk.terms() < 0 ? "gather" : std::to_string(blk.terms())));
}

void model_args(benchmark::internal::Benchmark* b) {
    for (int i = 0; i < static_cast<int>(models().size()); ++i) b->Args({i});
}
void model_block_args(benchmark::internal::Benchmark* b) {
    for (int i = 0; i < static_cast<int>(models().size()); ++i)
        for (int k = 0; k < 7; ++k) b->Args({i, k});
}

}  // namespace

BENCHMARK(BM_Float)->Apply(model_args)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Approx)->Apply(model_block_args)->UseRealTime()->Unit(benchmark::kMillisecond);
// The OpenMP wait policy (hawx/framework/openmp_policy.hpp) as hawx runs with it.
int main(int argc, char** argv) {
    hawx::prefer_passive_openmp(argv);
    for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]) == "--layer_times") {
            g_layer_times = true;
            for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
            --argc;
            break;
        }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
