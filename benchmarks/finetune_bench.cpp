// One fine-tuning step (forward + backward + SGD update, batch 64, same threads): a float
// training step (BM_FloatStep, the baseline) vs a step through the engine's bit-exact
// approximate forward with one block in every layer (BM_ApproxStep), straight-through or
// table-slope gradients. Ratio = real_time(BM_ApproxStep) / real_time(BM_FloatStep) of the
// same model in the same run; issue 19's targets are <= 3 for separable blocks and <= 10 for
// a full-rank table.
// Run: build/bin/finetune_bench [--benchmark_filter=lenet5]; HAWX_BENCH_SLOPE_RANK=k sets the
// slope gradient's error terms (EngineOptions::slope_rank, default 4). The float step varies
// by 10-30% between runs on a shared 2-core machine: compare ratios within one run, with
// --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true.
#include <benchmark/benchmark.h>

#include "hawx/framework/openmp_policy.hpp"

#include <ATen/Parallel.h>
#include <torch/optim/sgd.h>
#include <torch/torch.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "bench_blocks.hpp"
#include "hawx/engine/engine.hpp"
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
        {"vgg11", {3, 32, 10, 0.25}},
    };
    return m;
}

int threads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

const BlockLibrary& library() {
    using hawx::bench::block;
    static const BlockLibrary lib = {
        block("core.exact_mul", {}, "EX"),
        block("core.truncated_mul", {{"k", 3}}, "T3"),
        block("core.drum_mul", {{"k", 4}}, "DRUM4"),
        block("core.mitchell_mul", {}, "MIT"),
    };
    return lib;
}

struct Prepared {
    std::shared_ptr<hawx::zoo::Network> net;
    at::Tensor x, y;
};
Prepared prepare(const ModelCase& mc) {
    torch::manual_seed(1);
    Prepared p;
    p.net = hawx::zoo::make_model(mc.name, mc.options);
    p.net->eval();
    hawx::zoo::fold_batchnorm(*p.net);  // fine-tuning trains the folded weights
    p.x = torch::randn({kBatch, mc.options.in_channels, mc.options.input_size, mc.options.input_size});
    p.y = torch::randint(0, mc.options.num_classes, {kBatch}, at::kLong);
    return p;
}

void step(Prepared& p, torch::optim::SGD& opt) {
    opt.zero_grad();
    at::cross_entropy_loss(p.net->forward(p.x), p.y).backward();
    opt.step();
}

void BM_FloatStep(benchmark::State& state) {
    const ModelCase& mc = models()[static_cast<std::size_t>(state.range(0))];
    at::set_num_threads(threads());
    Prepared p = prepare(mc);
    p.net->set_runner(nullptr);
    torch::optim::SGD opt(p.net->parameters(), torch::optim::SGDOptions(1e-4));
    for (auto _ : state) step(p, opt);
    state.SetLabel(mc.name);
}

void BM_ApproxStep(benchmark::State& state) {
    const ModelCase& mc = models()[static_cast<std::size_t>(state.range(0))];
    const int b = static_cast<int>(state.range(1));
    EngineOptions o;
    o.threads = threads();
    o.gradient = state.range(2) ? GradientRule::SlopeTable : GradientRule::StraightThrough;
    if (const char* r = std::getenv("HAWX_BENCH_SLOPE_RANK")) o.slope_rank = std::atoi(r);
    Engine e(library(), o);
    Prepared p = prepare(mc);
    p.net->set_runner(&e);
    {
        torch::NoGradGuard ng;
        e.begin_calibration();
        p.net->forward(p.x);
        e.finish_calibration();
    }
    e.set_assignment(ModelAssignment::uniform(b, p.net->layer_descs().size()));
    e.set_mode(Mode::Train);
    torch::optim::SGD opt(p.net->parameters(), torch::optim::SGDOptions(1e-4));
    step(p, opt);  // slope factors computed once
    e.reset_timings();
    for (auto _ : state) step(p, opt);
    // Where the forward's time goes, per step: kernel builds (the weights move every step),
    // the approximate accumulation, dequantization.
    LayerTiming sum;
    for (const LayerTiming& t : e.layer_timings()) {
        sum.setup_s += t.setup_s;
        sum.accumulate_s += t.accumulate_s;
        sum.dequantize_s += t.dequantize_s;
    }
    const double steps = static_cast<double>(std::max<benchmark::IterationCount>(1, state.iterations()));
    state.counters["build_ms"] = 1e3 * sum.setup_s / steps;
    state.counters["accumulate_ms"] = 1e3 * sum.accumulate_s / steps;
    state.counters["dequantize_ms"] = 1e3 * sum.dequantize_s / steps;
    const CompiledBlock& blk = *library()[static_cast<std::size_t>(b)];
    std::string label = std::string(mc.name) + " " + blk.name + " " + to_string(o.gradient) + " (" +
                        (blk.terms() < 0 ? std::string("gather") : "R=" + std::to_string(blk.rank()));
    if (o.gradient == GradientRule::SlopeTable) {
        // The factorization signed layers use: the interior one where it needs fewer terms.
        const SlopeFactors& full = e.slope_factors(b);
        const SlopeSides& f = full.interior ? *full.interior : static_cast<const SlopeSides&>(full);
        char buf[128];
        std::snprintf(buf, sizeof buf, ", slope %lld terms%s, dropped %.2f/%.2f", static_cast<long long>(f.terms()),
                      full.interior ? " + end rows" : "", f.dropped_a, f.dropped_w);
        label += buf;
    }
    state.SetLabel(label + ")");
}

void args_float(benchmark::internal::Benchmark* b) {
    for (std::int64_t m = 0; m < static_cast<std::int64_t>(models().size()); ++m) b->Args({m});
}
void args_approx(benchmark::internal::Benchmark* b) {
    for (std::int64_t m = 0; m < static_cast<std::int64_t>(models().size()); ++m)
        for (std::int64_t blk = 0; blk < 4; ++blk)
            for (std::int64_t g = 0; g < 2; ++g)
                if (blk > 0 || g == 0) b->Args({m, blk, g});
}

BENCHMARK(BM_FloatStep)->Apply(args_float)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ApproxStep)->Apply(args_approx)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
    hawx::prefer_passive_openmp(argv);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
