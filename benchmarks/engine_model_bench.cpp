// Whole-model inference, batch 64, same threads: exact float LibTorch (BM_Float, the
// baseline) vs the engine's bit-exact quantized inference with one block in every layer
// (BM_Approx). The label gives the block's error rank R and the number of float32 terms the
// separable path runs (or "gather"). Ratio = real_time(BM_Approx) / real_time(BM_Float) of
// the same model in the same run; the targets are <= R + 1.5 (separable) and <= 15
// (full-rank table, gather path).
// Run: build/bin/engine_model_bench [--benchmark_filter=lenet5]
#include <benchmark/benchmark.h>

#include <ATen/Parallel.h>
#include <torch/torch.h>

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
BENCHMARK_MAIN();
