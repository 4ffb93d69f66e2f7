// PrefixCachingRunner: a sweep in lexicographic order gives exactly the Engine's outputs and
// computes layer j once per distinct prefix of blocks (per batch).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <hawx/blocks/truncated_mul.hpp>
#include <hawx/engine/engine.hpp>
#include <hawx/engine/prefix_cache.hpp>
#include <hawx/data/tensor.hpp>
#include <hawx/zoo/network.hpp>
#include <hawx/zoo/quantized.hpp>

#include "../blocks/block_test_util.hpp"

using namespace hawx;
using namespace hawx::engine;
using hawx::test::P;

namespace {

TEST(PrefixCache, LexicographicSweepEqualsEngineAndSharesPrefixes) {
    const BlockLibrary lib = {exact_block(true), compile_block(P<blocks::TruncatedMul>().i("k", 3).make(), "T3"),
                              compile_block(P<blocks::TruncatedMul>().i("k", 6).make(), "T6")};
    torch::manual_seed(7);
    zoo::ModelOptions mo;
    mo.in_channels = 1;
    mo.input_size = 32;
    mo.num_classes = 10;
    auto net = zoo::make_model("lenet5", mo);
    net->eval();
    const Dataset data = synthetic_dataset(96, 1, 28, 28, 10, 3);
    const hawx::InputSpec spec = hawx::input_spec_from_data(data, 1, 32);
    Engine eng(lib);
    zoo::calibrate(*net, eng, data, spec, data.size());
    const std::size_t L = net->layer_descs().size();
    ASSERT_EQ(L, 5u);
    // Layers 1..3 sweep the 3 blocks (27 configurations, layer 1 slowest); 4..5 stay exact.
    std::vector<ModelAssignment> sweep;
    for (int a = 0; a < 3; ++a)
        for (int b = 0; b < 3; ++b)
            for (int c = 0; c < 3; ++c) {
                ModelAssignment m = ModelAssignment::uniform(0, L);
                m.layers[0].units = {a};
                m.layers[1].units = {b};
                m.layers[2].units = {c};
                sweep.push_back(m);
            }
    const std::size_t batches = 3, batch = 32;
    const auto outputs = [&](const std::function<void(const ModelAssignment&)>& set) {
        std::vector<at::Tensor> out;
        torch::NoGradGuard ng;
        for (const auto& m : sweep) {
            set(m);
            for (std::size_t i = 0; i < batches; ++i)
                out.push_back(net->forward(hawx::to_input(data, i * batch, (i + 1) * batch, spec)));
        }
        return out;
    };
    net->set_runner(&eng);
    const auto reference = outputs([&](const ModelAssignment& m) { eng.set_assignment(m); });
    for (bool copy : {true, false}) {
        PrefixCachingRunner cache(eng, std::size_t{1} << 30, copy);
        net->set_runner(&cache);
        const auto cached = outputs([&](const ModelAssignment& m) { cache.begin(m, "synthetic/32"); });
        ASSERT_EQ(cached.size(), reference.size());
        for (std::size_t i = 0; i < cached.size(); ++i) EXPECT_TRUE(at::equal(cached[i], reference[i])) << i;
        // Layer 1: 3 prefixes, layer 2: 9, layers 3-5: 27 (their prefixes include layer 3).
        const std::size_t computed = (3 + 9 + 27 + 27 + 27) * batches;
        EXPECT_EQ(cache.misses(), computed);
        EXPECT_EQ(cache.hits(), 27 * 5 * batches - computed);
    }
    net->set_runner(nullptr);
}

TEST(PrefixCache, ALayerOverBudgetIsAlwaysComputed) {
    const BlockLibrary lib = {exact_block(true)};
    torch::manual_seed(1);
    zoo::ModelOptions mo;
    mo.in_channels = 1;
    mo.num_classes = 10;
    auto net = zoo::make_model("lenet5", mo);
    net->eval();
    const Dataset data = synthetic_dataset(16, 1, 28, 28, 10, 4);
    const hawx::InputSpec spec = hawx::input_spec_from_data(data, 1, 32);
    Engine eng(lib);
    zoo::calibrate(*net, eng, data, spec, data.size());
    PrefixCachingRunner cache(eng, 0);  // nothing fits
    net->set_runner(&cache);
    torch::NoGradGuard ng;
    for (int i = 0; i < 2; ++i) {
        cache.begin(ModelAssignment::uniform(0, 5), "t");
        net->forward(hawx::to_input(data, 0, 16, spec));
    }
    EXPECT_EQ(cache.hits(), 0u);
    EXPECT_EQ(cache.misses(), 10u);
    EXPECT_EQ(cache.cached_bytes(), 0u);
    net->set_runner(nullptr);
}

}  // namespace
