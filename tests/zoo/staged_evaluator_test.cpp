// StagedEvaluator (issue 20): a sweep that resumes every evaluation from the deepest cached
// stage output gives exactly the accuracies and losses of uncached evaluations (zoo::evaluate
// with the engine's assignment), on every zoo model, in sweep order and in random order, with
// and without a memory budget; and runs each stage once per distinct prefix of its layers.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>

#include <hawx/blocks/truncated_mul.hpp>
#include <hawx/blocks/bam_mul.hpp>
#include <hawx/engine/conversions.hpp>
#include <hawx/engine/engine.hpp>
#include <hawx/data/tensor.hpp>
#include <hawx/zoo/evaluate.hpp>
#include <hawx/zoo/network.hpp>
#include <hawx/zoo/quantized.hpp>
#include <hawx/zoo/staged_evaluator.hpp>

#include "../blocks/block_test_util.hpp"

using namespace hawx;
using namespace hawx::engine;
using hawx::test::P;

namespace {

const BlockLibrary& library() {
    // exact, a separable block, a block run by the gather path (BAM with vbl 6 is full rank
    // enough to take it on small layers) and the same through the separable path.
    static const BlockLibrary lib = {exact_block(true), compile_block(P<blocks::TruncatedMul>().i("k", 5).make(), "T5"),
                                     compile_block(P<blocks::BamMul>().i("hbl", 1).i("vbl", 6).make(), "BAM")};
    return lib;
}

struct Bench {
    std::shared_ptr<zoo::Network> net;
    std::unique_ptr<Engine> engine;
    Dataset data;
    InputSpec spec;
    std::size_t layers = 0;
};

Bench bench(const std::string& model, double width, std::size_t images) {
    torch::manual_seed(5);
    Bench b;
    zoo::ModelOptions mo;
    mo.in_channels = 3;
    mo.input_size = 32;
    mo.num_classes = 10;
    mo.width = width;
    b.net = zoo::make_model(model, mo);
    zoo::fold_batchnorm(*b.net);
    b.net->eval();
    b.data = synthetic_dataset(images, 3, 32, 32, 10, 9);
    b.spec = input_spec_from_data(b.data, 3, 32);
    b.engine = std::make_unique<Engine>(library());
    zoo::calibrate(*b.net, *b.engine, b.data, b.spec, b.data.size());
    b.layers = b.net->layer_descs().size();
    return b;
}

ModelAssignment assignment(const std::vector<int>& blocks) {
    ModelAssignment a;
    for (int x : blocks) a.layers.push_back(LayerAssignment{Granularity::Layer, {x}});
    return a;
}

// Uncached: the engine's assignment through zoo::evaluate.
zoo::EvalResult plain(Bench& b, const ModelAssignment& a, std::size_t batch) {
    b.engine->set_assignment(a);
    b.net->set_runner(b.engine.get());
    return zoo::evaluate(*b.net, b.data, b.spec, batch);
}

void expect_same(const zoo::EvalResult& got, const zoo::EvalResult& want, const std::string& what) {
    EXPECT_EQ(got.correct, want.correct) << what;
    EXPECT_EQ(got.total, want.total) << what;
    EXPECT_EQ(got.loss, want.loss) << what;  // bit-identical logits give the identical loss
}

TEST(StagedEvaluator, LeNetSweepEqualsUncachedAndRunsStagesOncePerPrefix) {
    Bench b = bench("lenet5", 1.0, 100);
    ASSERT_EQ(b.layers, 5u);
    ASSERT_EQ(b.net->stage_count(), 5u);
    for (std::size_t k = 0; k < 5; ++k) EXPECT_EQ(b.net->stage_last_layer(k), static_cast<int>(k + 1));
    zoo::StagedEvaluator ev(*b.net, *b.engine, b.data, 0, b.spec, 32, std::size_t{1} << 30);
    // All 2^5 configurations of two blocks per layer, layer 1 slowest; the blocks alternate
    // between layers so that every kernel kind (exact, separable, gather) runs.
    for (int c = 0; c < 32; ++c) {
        std::vector<int> blocks(5);
        for (int l = 4, x = c; l >= 0; --l, x /= 2) blocks[static_cast<std::size_t>(l)] = (x % 2) ? 1 + l % 2 : 0;
        const ModelAssignment a = assignment(blocks);
        expect_same(ev.evaluate(a, true), plain(b, a, 32), format_assignment(a, {"EX", "T5", "BAM"}));
    }
    // Stage k (layers up to k + 1) ran once per distinct prefix of k + 1 layers: 2^(k+1).
    for (std::size_t k = 0; k < 5; ++k) EXPECT_EQ(ev.stage_runs(k), std::size_t{2} << k) << k;
}

TEST(StagedEvaluator, DeepModelsInRandomOrderAndWithoutBudgetEqualUncached) {
    for (const auto& [model, width] : {std::pair<std::string, double>{"resnet18", 0.25}, {"vgg11", 0.25},
                                       {"efficientnet_lite0", 0.25}}) {
        Bench b = bench(model, width, 40);
        ASSERT_GT(b.net->stage_count(), 3u) << model;
        int last = 0;
        for (std::size_t k = 0; k < b.net->stage_count(); ++k) {
            EXPECT_GE(b.net->stage_last_layer(k), last) << model << " stage " << k;
            last = b.net->stage_last_layer(k);
        }
        EXPECT_EQ(last, static_cast<int>(b.layers)) << model;
        // Configurations sharing long prefixes, in random order: every evaluation starts from a
        // different cached stage.
        std::mt19937 rng(3);
        std::vector<std::vector<int>> configs;
        std::vector<int> base(b.layers, 0);
        for (int i = 0; i < 6; ++i) {
            std::vector<int> c = base;
            const std::size_t from = rng() % b.layers;
            for (std::size_t l = from; l < b.layers; ++l) c[l] = static_cast<int>(rng() % 3);
            configs.push_back(c);
            if (i % 2 == 1) base = c;
        }
        zoo::StagedEvaluator cached(*b.net, *b.engine, b.data, 0, b.spec, 16, std::size_t{1} << 30);
        zoo::StagedEvaluator unbudgeted(*b.net, *b.engine, b.data, 0, b.spec, 16, 0);  // keeps nothing
        for (const auto& c : configs) {
            const ModelAssignment a = assignment(c);
            const zoo::EvalResult want = plain(b, a, 16);
            expect_same(cached.evaluate(a, true), want, model + " cached");
            expect_same(unbudgeted.evaluate(a, true), want, model + " without budget");
        }
        for (std::size_t k = 0; k + 1 < unbudgeted.stages(); ++k) EXPECT_FALSE(unbudgeted.keeps(k)) << model;
    }
}

}  // namespace
