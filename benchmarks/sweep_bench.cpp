// Exhaustive-sweep throughput (issue 20): one full evaluation (t_eval: zoo::evaluate of the
// all-exact network on 5,000 Fashion-MNIST images, batch 256, as a search's evaluation) vs
// a sweep of configurations in lexicographic order (layer 1 slowest) through the staged
// evaluator, in the same run. Ratio = sweep time / t_eval; the target for LeNet-5's 8^5 sweep
// is <= 600. VGG-11 (width 0.25, 4 blocks: 4^11 = 4.2 million configurations) measures its
// first 100,000 and prints the tool's estimate for the whole sweep.
// Weights are random (trained weights change accuracies, not the work done).
// Run: build/bin/sweep_bench [--benchmark_filter=lenet5]
#include <benchmark/benchmark.h>

#include "hawx/framework/openmp_policy.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cstdio>
#include <thread>

#include "bench_blocks.hpp"
#include "hawx/data/datasets.hpp"
#include "hawx/data/tensor.hpp"
#include "hawx/engine/engine.hpp"
#include "hawx/zoo/evaluate.hpp"
#include "hawx/zoo/network.hpp"
#include "hawx/zoo/quantized.hpp"
#include "hawx/zoo/staged_evaluator.hpp"

namespace {

using namespace hawx;
using hawx::bench::block;

constexpr std::size_t kImages = 5000, kBatch = 256;

int threads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

engine::BlockLibrary library(std::size_t n) {
    engine::BlockLibrary lib = {
        block("core.exact_mul", {}, "EX"),
        block("core.truncated_mul", {{"k", 2}}, "T2"),
        block("core.truncated_mul", {{"k", 4}}, "T4"),
        block("core.truncated_mul", {{"k", 6}}, "T6"),
        block("core.bam_mul", {{"hbl", 1}, {"vbl", 6}}, "BAM16"),
        block("core.drum_mul", {{"k", 6}}, "DRUM6"),
        block("core.drum_mul", {{"k", 4}}, "DRUM4"),
        block("core.mitchell_mul", {}, "MIT"),
    };
    lib.resize(n);
    return lib;
}

struct Setup {
    std::shared_ptr<zoo::Network> net;
    std::unique_ptr<engine::Engine> engine;
    Dataset val;
    InputSpec spec;
    std::size_t blocks = 0, layers = 0;
};

Setup setup(const char* model, double width, int input_size, std::size_t blocks) {
    at::set_num_threads(threads());
    torch::manual_seed(1);
    Setup s;
    const DatasetSplits data = load_dataset("fashion-mnist", "", input_size, 1);
    s.val = head(data.train, kImages);
    zoo::ModelOptions o{1, input_size, 10, width};
    s.net = zoo::make_model(model, o);
    zoo::fold_batchnorm(*s.net);
    s.net->eval();
    s.spec = input_spec_from_data(s.val, 1, input_size);
    engine::EngineOptions eo;
    eo.threads = threads();
    s.engine = std::make_unique<engine::Engine>(library(blocks), eo);
    zoo::calibrate(*s.net, *s.engine, s.val, s.spec, 2000);
    s.blocks = blocks;
    s.layers = s.net->layer_descs().size();
    return s;
}

engine::ModelAssignment nth(std::uint64_t i, std::size_t layers, std::size_t blocks) {
    std::vector<int> per(layers);
    for (std::size_t l = layers; l-- > 0;) per[l] = static_cast<int>(i % blocks), i /= blocks;
    engine::ModelAssignment a;
    for (int b : per) a.layers.push_back(engine::LayerAssignment{Granularity::Layer, {b}});
    return a;
}

void BM_Eval(benchmark::State& state, const char* model, double width, int size, std::size_t blocks) {
    Setup s = setup(model, width, size, blocks);
    s.engine->set_assignment(engine::ModelAssignment::uniform(0, s.layers));
    s.net->set_runner(s.engine.get());
    for (auto _ : state) benchmark::DoNotOptimize(zoo::evaluate(*s.net, s.val, s.spec, kBatch, kImages));
    state.SetLabel(std::string(model) + " t_eval");
}

// The engine's forward passes alone over the same images (inputs converted beforehand, no
// accuracy bookkeeping): what a full evaluation cannot be faster than (issue 20 part 3).
void BM_Forward(benchmark::State& state, const char* model, double width, int size, std::size_t blocks) {
    Setup s = setup(model, width, size, blocks);
    s.engine->set_assignment(engine::ModelAssignment::uniform(0, s.layers));
    s.net->set_runner(s.engine.get());
    std::vector<at::Tensor> inputs;
    for (std::size_t b = 0; b < kImages; b += kBatch) inputs.push_back(to_input(s.val, b, std::min(kImages, b + kBatch), s.spec));
    torch::NoGradGuard ng;
    for (auto _ : state)
        for (const auto& x : inputs) benchmark::DoNotOptimize(s.net->forward(x));
    state.SetLabel(std::string(model) + " forward passes only");
}

// A search's full evaluation of a configuration that shares no prefix with the previous one
// (each iteration alternates layer 1 between two blocks): every stage runs.
void BM_StagedFull(benchmark::State& state, const char* model, double width, int size, std::size_t blocks) {
    Setup s = setup(model, width, size, blocks);
    zoo::StagedEvaluator ev(*s.net, *s.engine, s.val, kImages, s.spec, kBatch, std::size_t{1} << 30);
    engine::ModelAssignment a = engine::ModelAssignment::uniform(0, s.layers);
    int flip = 0;
    for (auto _ : state) {
        a.layers.front().units = {flip};
        flip = 1 - flip;
        benchmark::DoNotOptimize(ev.evaluate(a));
    }
    state.SetLabel(std::string(model) + " staged evaluator, nothing reused");
}

void BM_Sweep(benchmark::State& state, const char* model, double width, int size, std::size_t blocks,
              std::uint64_t count) {
    Setup s = setup(model, width, size, blocks);
    std::uint64_t total = 1;
    for (std::size_t l = 0; l < s.layers; ++l) total *= blocks;
    const std::uint64_t n = count == 0 ? total : std::min(count, total);
    for (auto _ : state) {
        zoo::StagedEvaluator ev(*s.net, *s.engine, s.val, kImages, s.spec, kBatch, std::size_t{1} << 30);
        std::size_t correct = 0;
        for (std::uint64_t i = 0; i < n; ++i) correct += ev.evaluate(nth(i, s.layers, blocks)).correct;
        benchmark::DoNotOptimize(correct);
        state.PauseTiming();
        const double est = ev.sweep_seconds_estimate(blocks);
        std::printf("%s: %llu of %llu configurations; the tool's estimate for all of them: %.0f s\n", model,
                    static_cast<unsigned long long>(n), static_cast<unsigned long long>(total), est);
        const auto t = s.engine->layer_timings();
        for (std::size_t l = 0; l < t.size(); ++l)
            std::printf("  layer %zu: %zu calls, %zu kernel builds, setup %.3f s, accumulate %.3f s, dequantize %.3f s\n",
                        l + 1, t[l].calls, t[l].builds, t[l].setup_s, t[l].accumulate_s, t[l].dequantize_s);
        for (std::size_t k = 0; k < ev.stages(); ++k)
            std::printf("  stage %zu (layers up to %d)%s: %zu runs, %.3f s, %.3f ms per run\n", k,
                        s.net->stage_last_layer(k), ev.keeps(k) ? " kept" : "", ev.stage_runs(k), ev.stage_seconds(k),
                        1e3 * ev.stage_seconds(k) / std::max<std::size_t>(1, ev.stage_runs(k)));
        state.ResumeTiming();
    }
    state.SetLabel(std::string(model) + " " + std::to_string(n) + " configurations");
}

// The last stage alone (layer 5 of LeNet-5, 5,000 images) with each block: what most
// configurations of a depth-first sweep cost.
void BM_LastStage(benchmark::State& state) {
    static Setup s = setup("lenet5", 1.0, 32, 8);
    static zoo::StagedEvaluator ev(*s.net, *s.engine, s.val, kImages, s.spec, kBatch, std::size_t{1} << 30);
    const int b = static_cast<int>(state.range(0));
    engine::ModelAssignment a = nth(0, s.layers, s.blocks);
    a.layers.back().units = {b};
    ev.evaluate(a);
    for (auto _ : state) benchmark::DoNotOptimize(ev.evaluate(a));
    state.SetLabel(s.engine->library()[static_cast<std::size_t>(b)]->name + ": " + s.engine->describe_layer(5));
}
BENCHMARK(BM_LastStage)->DenseRange(0, 7)->Unit(benchmark::kMillisecond);

BENCHMARK_CAPTURE(BM_Forward, lenet5, "lenet5", 1.0, 32, 8)->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(BM_Eval, lenet5, "lenet5", 1.0, 32, 8)->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(BM_StagedFull, lenet5, "lenet5", 1.0, 32, 8)->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(BM_Sweep, lenet5, "lenet5", 1.0, 32, 8, 0)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK_CAPTURE(BM_Sweep, lenet5_first4096, "lenet5", 1.0, 32, 8, 4096)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK_CAPTURE(BM_Forward, vgg11, "vgg11", 0.25, 32, 4)->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(BM_Eval, vgg11, "vgg11", 0.25, 32, 4)->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(BM_StagedFull, vgg11, "vgg11", 0.25, 32, 4)->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(BM_Sweep, vgg11, "vgg11", 0.25, 32, 4, 100000)->Unit(benchmark::kSecond)->Iterations(1);

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
