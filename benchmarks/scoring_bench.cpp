// Cost of HAWX steps 1-2 against one accuracy evaluation. Per model (LeNet-5 and VGG-11 at
// 32x32, random weights), N = 10 representative inputs and the 8 blocks of the LeNet-5
// manifest:
//   BM_Eval   one full test-set evaluation: 10,000 images through the int8-exact engine, batch 256
//   BM_Score  gradient profile (forward + backward on the N inputs) and metrics.hawx scores of
//             every block at weight-position, filter, layer and model level; arg 1 adds the
//             hawx(o) distributions
// BM_Score reports counter ratio_to_eval = its time / one BM_Eval-style evaluation timed once
// in the same process (the goal: < 1 for all blocks together).
// Run: build/bin/scoring_bench [--benchmark_filter=lenet5]
#include <benchmark/benchmark.h>

#include "hawx/framework/openmp_policy.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <chrono>
#include <map>
#include <thread>

#include "bench_blocks.hpp"
#include "hawx/engine/engine.hpp"
#include "hawx/engine/score_distribution.hpp"
#include "hawx/engine/scoring.hpp"
#include "hawx/zoo/network.hpp"

namespace {

using namespace hawx::engine;

constexpr std::int64_t kTestImages = 10000, kEvalBatch = 256, kRepresentatives = 10;

struct ModelCase {
    const char* name;
    hawx::zoo::ModelOptions options;
};
const std::vector<ModelCase>& models() {
    static const std::vector<ModelCase> m = {{"lenet5", {1, 32, 10, 1.0}}, {"vgg11", {3, 32, 10, 1.0}}};
    return m;
}

int threads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

const BlockLibrary& library() {
    using hawx::bench::block;
    static const BlockLibrary lib = {
        block("core.exact_mul", {}, "EX"),
        block("core.truncated_mul", {{"k", 2}}, "T2"),
        block("core.truncated_mul", {{"k", 4}}, "T4"),
        block("core.truncated_mul", {{"k", 6}}, "T6"),
        block("core.bam_mul", {{"hbl", 1}, {"vbl", 6}}, "BAM16"),
        block("core.drum_mul", {{"k", 6}}, "DRUM6"),
        block("core.drum_mul", {{"k", 4}}, "DRUM4"),
        block("core.mitchell_mul", {}, "MIT"),
    };
    return lib;
}

const hawx::SensitivityMetric& hawx_metric() {
    static hawx::PluginManager pm(hawx::plugin_search_path({}));
    static const std::shared_ptr<hawx::SensitivityMetric> m = [] {
        const auto& e = pm.find("metrics.hawx", hawx::Kind::Metric);
        return pm.create<hawx::SensitivityMetric>(e, pm.resolve_params(e, nlohmann::json::object(), "bench", ""), "bench");
    }();
    return *m;
}

// A calibrated engine on the model, int8-exact assignment.
struct Prepared {
    std::shared_ptr<hawx::zoo::Network> net;
    std::unique_ptr<Engine> engine;
    at::Tensor reps, labels;
};
Prepared prepare(const ModelCase& mc) {
    torch::manual_seed(1);
    at::set_num_threads(threads());
    Prepared p;
    p.net = hawx::zoo::make_model(mc.name, mc.options);
    p.net->eval();
    hawx::zoo::fold_batchnorm(*p.net);
    EngineOptions o;
    o.threads = threads();
    p.engine = std::make_unique<Engine>(library(), o);
    p.net->set_runner(p.engine.get());
    const auto& io = mc.options;
    {
        torch::NoGradGuard ng;
        p.engine->begin_calibration();
        p.net->forward(torch::randn({kEvalBatch, io.in_channels, io.input_size, io.input_size}));
        p.engine->finish_calibration();
    }
    p.engine->set_assignment(ModelAssignment::uniform(0, p.net->layer_descs().size()));
    p.reps = torch::randn({kRepresentatives, io.in_channels, io.input_size, io.input_size});
    p.labels = torch::randint(0, io.num_classes, {kRepresentatives}, torch::kLong);
    return p;
}

// One evaluation of 10,000 images (random, generated per batch outside the engine's work).
void evaluate(Prepared& p, const ModelCase& mc) {
    torch::NoGradGuard ng;
    p.engine->set_mode(Mode::Quantized);
    const auto& io = mc.options;
    for (std::int64_t i = 0; i < kTestImages; i += kEvalBatch) {
        const std::int64_t n = std::min(kEvalBatch, kTestImages - i);
        benchmark::DoNotOptimize(p.net->forward(torch::randn({n, io.in_channels, io.input_size, io.input_size})).argmax(1));
    }
}

double eval_seconds(Prepared& p, const ModelCase& mc) {
    static std::map<std::string, double> cache;
    auto it = cache.find(mc.name);
    if (it != cache.end()) return it->second;
    const auto t0 = std::chrono::steady_clock::now();
    evaluate(p, mc);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    cache[mc.name] = s;
    return s;
}

void BM_Eval(benchmark::State& state) {
    const ModelCase& mc = models()[static_cast<std::size_t>(state.range(0))];
    Prepared p = prepare(mc);
    for (auto _ : state) evaluate(p, mc);
    state.SetLabel(std::string(mc.name) + " 10000 images int8-exact");
}

void BM_Score(benchmark::State& state) {
    const ModelCase& mc = models()[static_cast<std::size_t>(state.range(0))];
    const bool distributions = state.range(1) != 0;
    Prepared p = prepare(mc);
    const auto& metric = hawx_metric();
    ScoreOptions so;
    so.per_position = true;
    double total = 0;
    std::int64_t n = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        p.engine->set_mode(Mode::Profile);
        p.engine->clear_profile();
        torch::nn::functional::cross_entropy(p.net->forward(p.reps), p.labels,
                                             torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
            .backward();
        benchmark::DoNotOptimize(score_with_metric(p.engine->profile(), library(), metric, so));
        if (distributions) benchmark::DoNotOptimize(score_distributions(p.engine->profile(), library()));
        p.engine->clear_profile();
        total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        ++n;
    }
    const double t_eval = eval_seconds(p, mc);
    state.counters["t_eval_s"] = t_eval;
    state.counters["ratio_to_eval"] = total / static_cast<double>(n) / t_eval;
    state.SetLabel(std::string(mc.name) + " N=10, 8 blocks, all levels" + (distributions ? " + distributions" : ""));
}

void model_args(benchmark::internal::Benchmark* b) {
    for (int i = 0; i < static_cast<int>(models().size()); ++i) b->Args({i});
}
void score_args(benchmark::internal::Benchmark* b) {
    for (int i = 0; i < static_cast<int>(models().size()); ++i)
        for (int d : {0, 1}) b->Args({i, d});
}

}  // namespace

BENCHMARK(BM_Eval)->Apply(model_args)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Score)->Apply(score_args)->UseRealTime()->Unit(benchmark::kMillisecond);
// The OpenMP wait policy (hawx/framework/openmp_policy.hpp) as hawx runs with it.
int main(int argc, char** argv) {
    hawx::prefer_passive_openmp(argv);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
