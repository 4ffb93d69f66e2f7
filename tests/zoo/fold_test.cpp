// BatchNorm folding: same outputs in eval mode, the engine sees folded weights.
#include <gtest/gtest.h>
#include <torch/utils.h>

#include "hawx/sdk/error.hpp"
#include "hawx/zoo/network.hpp"
#include "hawx/zoo/train.hpp"
#include "zoo_test_util.hpp"

namespace {

hawx::zoo::ModelOptions opts(int size, double width) {
    hawx::zoo::ModelOptions o;
    o.in_channels = 3;
    o.input_size = size;
    o.num_classes = 10;
    o.width = width;
    return o;
}

// Gives every BatchNorm non-trivial statistics and affine parameters, as training would.
void perturb_batchnorm(hawx::zoo::Network& net) {
    torch::NoGradGuard no_grad;
    for (const auto& [conv, bn] : net.conv_bn_pairs()) {
        bn->weight.uniform_(0.5, 1.5);
        bn->bias.uniform_(-0.5, 0.5);
        bn->running_mean.uniform_(-0.3, 0.3);
        bn->running_var.uniform_(0.2, 2.0);
    }
}

struct WeightSnoop : hawx::engine::LayerRunner {
    std::map<std::string, at::Tensor> weights, biases;
    at::Tensor forward(const hawx::engine::LayerDesc& l, const at::Tensor& x, const at::Tensor& w,
                       const at::Tensor& b) override {
        weights[l.name] = w.clone();
        biases[l.name] = b.defined() ? b.clone() : at::Tensor();
        return hawx::engine::float_forward(l, x, w, b);
    }
};

class Fold : public ::testing::TestWithParam<const char*> {};

TEST_P(Fold, OutputsMatchInEvalMode) {
    torch::manual_seed(11);
    auto net = hawx::zoo::make_model(GetParam(), opts(16, 0.25));
    ASSERT_FALSE(net->conv_bn_pairs().empty());
    perturb_batchnorm(*net);
    net->eval();
    torch::NoGradGuard no_grad;
    const at::Tensor x = at::randn({4, 3, 16, 16});
    const at::Tensor before = net->forward(x);

    hawx::zoo::fold_batchnorm(*net);
    EXPECT_TRUE(net->batchnorm_folded());
    const at::Tensor after = net->forward(x);
    EXPECT_TRUE(at::allclose(before, after, 1e-4, 1e-4)) << (before - after).abs().max().item<double>();
    EXPECT_GT(before.abs().max().item<double>(), 0.01) << "outputs are not trivially zero";

    for (const auto& [conv, bn] : net->conv_bn_pairs()) {
        EXPECT_TRUE(bn->folded());
        ASSERT_TRUE(conv->bias.defined()) << conv->desc.name << ": folding creates the bias";
        const at::Tensor z = at::randn({2, bn->num_features, 3, 3});
        hawx::zoo::FoldableBatchNorm2d folded_bn = bn;
        EXPECT_TRUE(at::equal(folded_bn->forward(z), z))
            << "a folded BatchNorm is the identity";
    }
    // The runner is handed the folded weights and biases.
    WeightSnoop snoop;
    net->set_runner(&snoop);
    const at::Tensor via_runner = net->forward(x);
    EXPECT_TRUE(at::equal(via_runner, after));
    const auto& [conv0, bn0] = net->conv_bn_pairs().front();
    EXPECT_TRUE(at::equal(snoop.weights.at(conv0->desc.name), conv0->weight));
    EXPECT_TRUE(at::equal(snoop.biases.at(conv0->desc.name), conv0->bias));

    // Folding again changes nothing.
    net->set_runner(nullptr);
    hawx::zoo::fold_batchnorm(*net);
    EXPECT_TRUE(at::equal(net->forward(x), after));
}

INSTANTIATE_TEST_SUITE_P(Zoo, Fold, ::testing::Values("vgg11", "resnet18", "efficientnet_lite0"));

TEST(ZooFold, FoldedWeightsFollowTheFormula) {
    torch::manual_seed(5);
    auto net = hawx::zoo::make_model("vgg11", opts(16, 0.125));
    perturb_batchnorm(*net);
    const auto& [conv, bn] = net->conv_bn_pairs().front();
    const at::Tensor w = conv->weight.detach().clone(), b = conv->bias.detach().clone();
    const at::Tensor g = bn->weight.detach().clone(), beta = bn->bias.detach().clone();
    const at::Tensor mean = bn->running_mean.clone(), var = bn->running_var.clone();
    hawx::zoo::fold_batchnorm(*net);
    const at::Tensor s = g / (var + 1e-5).sqrt();
    EXPECT_TRUE(at::allclose(conv->weight, w * s.view({-1, 1, 1, 1}), 1e-6, 1e-6));
    EXPECT_TRUE(at::allclose(conv->bias, (b - mean) * s + beta, 1e-6, 1e-6));
}

TEST(ZooFold, FoldedNetworkRefusesTraining) {
    auto net = hawx::zoo::make_model("resnet18", opts(16, 0.125));
    hawx::zoo::fold_batchnorm(*net);
    const hawx::Dataset d = hawx::synthetic_dataset(20, 3, 16, 16, 10, 1);
    hawx::InputSpec spec;
    spec.channels = 3;
    spec.size = 16;
    hawx::zoo::TrainOptions t;
    t.epochs = 1;
    t.val_size = 0;
    const std::string e = hawx::test::error_of<hawx::Error>([&] { hawx::zoo::train(*net, d, spec, t); });
    EXPECT_NE(e.find("BatchNorm has been folded"), std::string::npos) << e;
}

}  // namespace
