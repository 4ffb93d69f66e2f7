// One approximable layer, batch 64: exact float LibTorch (the baseline) vs the engine's
// bit-exact quantized layer (quantize + accumulate + dequantize) on the separable and
// gather paths. Compare real_time of BM_Approx* with BM_Float* of the same shape in one run;
// BM_Gather* also reports table lookups per second (items_per_second). BM_Mac* runs the
// exact multiplier through approximate 24-bit adders (LOA, ETA-I, truncated; sequential
// and tree:4): compare with BM_Gather of the same shape (a table lookup per product).
// Run: build/bin/engine_layer_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include "hawx/framework/openmp_policy.hpp"

#include <ATen/Parallel.h>

#include <thread>

#include "hawx/engine/engine.hpp"
#include "bench_blocks.hpp"

namespace {

using namespace hawx::engine;

struct Shape {
    const char* name;
    LayerDesc desc;
    std::int64_t hw;
};

LayerDesc conv(std::int64_t cin, std::int64_t cout, std::int64_t k, std::int64_t pad) {
    LayerDesc l;
    l.index = 1;
    l.in_channels = cin;
    l.out_channels = cout;
    l.kernel = {k, k};
    l.padding = {pad, pad};
    return l;
}
LayerDesc fc(std::int64_t in, std::int64_t out) {
    LayerDesc l;
    l.index = 1;
    l.linear = true;
    l.in_channels = in;
    l.out_channels = out;
    return l;
}

const std::vector<Shape>& shapes() {
    static const std::vector<Shape> s = {
        {"lenet_conv2_6x16x5x5_14px", conv(6, 16, 5, 0), 14},
        {"vgg_conv_128x128x3x3_8px", conv(128, 128, 3, 1), 8},
        {"vgg_conv_256x256x3x3_4px", conv(256, 256, 3, 1), 4},
        {"fc_400x120", fc(400, 120), 1},
    };
    return s;
}

constexpr std::int64_t kBatch = 64;

int threads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

using hawx::bench::block;

const BlockLibrary& library() {
    static const BlockLibrary lib = {
        block("core.exact_mul", {}, "EX"),
        block("core.truncated_mul", {{"k", 4}}, "T4"),
        block("core.bam_mul", {{"hbl", 1}, {"vbl", 6}}, "BAM16"),
        block("core.drum_mul", {{"k", 4}}, "DRUM4"),
        hawx::bench::exact_mac("core.loa_add", {{"bits", 24}, {"k", 8}, {"overflow", "wrap"}}, "sequential", "EX+LOA8"),
        hawx::bench::exact_mac("core.eta_add", {{"bits", 24}, {"k", 8}, {"overflow", "wrap"}}, "tree:4", "EX+ETA8/tree4"),
        hawx::bench::exact_mac("core.truncated_add", {{"bits", 24}, {"k", 6}, {"overflow", "saturate"}}, "sequential",
                               "EX+TR6sat"),
    };
    return lib;
}

struct Layer {
    at::Tensor x, w, b;
};
Layer make_layer(const Shape& s) {
    at::manual_seed(1);
    Layer l;
    const auto& d = s.desc;
    l.x = d.linear ? at::randn({kBatch, d.in_channels}) : at::relu(at::randn({kBatch, d.in_channels, s.hw, s.hw}));
    l.w = d.linear ? at::randn({d.out_channels, d.in_channels}) * 0.05
                   : at::randn({d.out_channels, d.in_channels, d.kernel[0], d.kernel[1]}) * 0.05;
    l.b = at::randn({d.out_channels}) * 0.1;
    return l;
}

void BM_Float(benchmark::State& state) {
    const Shape& s = shapes()[static_cast<std::size_t>(state.range(0))];
    at::set_num_threads(threads());
    const Layer l = make_layer(s);
    at::NoGradGuard ng;
    for (auto _ : state) benchmark::DoNotOptimize(float_forward(s.desc, l.x, l.w, l.b));
    state.SetLabel(s.name);
}

void run_approx(benchmark::State& state, KernelPath path) {
    const Shape& s = shapes()[static_cast<std::size_t>(state.range(0))];
    const int b = static_cast<int>(state.range(1));
    EngineOptions o;
    o.threads = threads();
    o.path = path;
    Engine e(library(), o);
    const Layer l = make_layer(s);
    at::NoGradGuard ng;
    e.begin_calibration();
    e.forward(s.desc, l.x, l.w, l.b);
    e.finish_calibration();
    e.set_assignment(ModelAssignment::uniform(b, 1));
    e.forward(s.desc, l.x, l.w, l.b);  // builds the kernel (weight transforms) once
    for (auto _ : state) benchmark::DoNotOptimize(e.forward(s.desc, l.x, l.w, l.b));
    const auto& blk = *library()[static_cast<std::size_t>(b)];
    state.SetLabel(std::string(s.name) + " " + blk.name + " rank " + std::to_string(blk.rank()));
    const auto o_hw = output_size(s.desc, s.hw, s.hw);
    const double lookups = static_cast<double>(kBatch * s.desc.out_channels * s.desc.fan_in() *
                                               (s.desc.linear ? 1 : o_hw[0] * o_hw[1]));
    if (path == KernelPath::Gather)
        state.counters["lookups_per_s"] = benchmark::Counter(lookups, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ApproxAuto(benchmark::State& state) { run_approx(state, KernelPath::Auto); }
void BM_Gather(benchmark::State& state) { run_approx(state, KernelPath::Gather); }
void BM_Mac(benchmark::State& state) { run_approx(state, KernelPath::Auto); }

// Preparing a layer's kernel for one assignment (weight transforms, packing): once per
// configuration in a search, but once per step in fine-tuning, where the weights change.
void BM_KernelBuild(benchmark::State& state) {
    const Shape& s = shapes()[static_cast<std::size_t>(state.range(0))];
    const int b = static_cast<int>(state.range(1));
    const Layer l = make_layer(s);
    const WeightQuant wq = quantize_weights(l.w, true, "bench");
    for (auto _ : state)
        benchmark::DoNotOptimize(LayerKernel(s.desc, wq, 0, library(), {hawx::Granularity::Layer, {b}}, KernelPath::Auto));
    state.SetLabel(std::string(s.name) + " " + library()[static_cast<std::size_t>(b)]->name);
}

void shape_args(benchmark::internal::Benchmark* b) {
    for (int i = 0; i < static_cast<int>(shapes().size()); ++i) b->Args({i});
}
void shape_block_args(benchmark::internal::Benchmark* b) {
    for (int i = 0; i < static_cast<int>(shapes().size()); ++i)
        for (int k = 0; k < 4; ++k) b->Args({i, k});
}
void shape_gather_args(benchmark::internal::Benchmark* b) {
    for (int i = 0; i < static_cast<int>(shapes().size()); ++i) b->Args({i, 3});
}
void shape_mac_args(benchmark::internal::Benchmark* b) {
    for (int i = 0; i < static_cast<int>(shapes().size()); ++i)
        for (int k = 4; k < 7; ++k) b->Args({i, k});
}

}  // namespace

BENCHMARK(BM_Float)->Apply(shape_args)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ApproxAuto)->Apply(shape_block_args)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Gather)->Apply(shape_gather_args)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Mac)->Apply(shape_mac_args)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_KernelBuild)->Apply(shape_block_args)->UseRealTime()->Unit(benchmark::kMicrosecond);
// The OpenMP wait policy (hawx/framework/openmp_policy.hpp) as hawx runs with it.
int main(int argc, char** argv) {
    hawx::prefer_passive_openmp(argv);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
