// Whole zoo models through the engine: every kernel path gives bit-identical outputs for
// mixed layer/filter/operation assignments (VGG-11, ResNet-18, EfficientNet-Lite0 on small
// inputs), and LeNet-5 trained briefly on Fashion-MNIST keeps its accuracy when int8-exact.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <hawx/blocks/drum_mul.hpp>
#include <hawx/blocks/mitchell_mul.hpp>
#include <hawx/blocks/truncated_mul.hpp>
#include <hawx/engine/engine.hpp>
#include <hawx/data/tensor.hpp>
#include <hawx/zoo/evaluate.hpp>
#include <hawx/zoo/network.hpp>
#include <hawx/zoo/quantized.hpp>
#include <hawx/zoo/train.hpp>

#include <filesystem>
#include <random>

#include "../blocks/block_test_util.hpp"

using namespace hawx;
using namespace hawx::engine;
using hawx::test::P;

namespace {

const BlockLibrary& library() {
    static const BlockLibrary lib = {
        exact_block(true),
        compile_block(P<blocks::TruncatedMul>().i("k", 3).make(), "T3"),    // error rank 3
        compile_block(P<blocks::DrumMul>().i("k", 4).make(), "DRUM4"),      // table rank 1
        compile_block(P<blocks::MitchellMul>().make(), "MIT"),              // gather only
    };
    return lib;
}

// Layer l cycles through: whole-layer blocks, a filter-level mix of all blocks, and (for the
// last layer) an operation-level mix.
ModelAssignment mixed_assignment(const std::vector<LayerDesc>& layers, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> d(0, 3);
    ModelAssignment m;
    for (std::size_t l = 0; l < layers.size(); ++l) {
        LayerAssignment a;
        if (l + 1 == layers.size()) {
            a.granularity = Granularity::Operation;
            for (std::int64_t i = 0; i < layers[l].out_channels * layers[l].fan_in(); ++i) a.units.push_back(d(rng));
        } else if (l % 3 == 2) {
            a.granularity = Granularity::Filter;
            for (std::int64_t f = 0; f < layers[l].out_channels; ++f) a.units.push_back(d(rng));
        } else {
            a.units = {static_cast<int>(l % 4)};
        }
        m.layers.push_back(std::move(a));
    }
    return m;
}

struct ModelCase {
    std::string name;
    zoo::ModelOptions options;
};

class EngineModels : public ::testing::TestWithParam<ModelCase> {};

TEST_P(EngineModels, EveryPathIsBitIdenticalOnAMixedAssignment) {
    const ModelCase& mc = GetParam();
    torch::manual_seed(7);
    auto net = zoo::make_model(mc.name, mc.options);
    // Non-trivial BatchNorm statistics, so folding changes the weights the engine sees.
    for (auto& p : net->named_buffers())
        if (p.key().find("running_var") != std::string::npos) p.value().uniform_(0.5, 2.0);
        else if (p.key().find("running_mean") != std::string::npos) p.value().uniform_(-0.2, 0.2);
    net->eval();
    zoo::fold_batchnorm(*net);
    const auto layers = net->layer_descs();
    const at::Tensor calib = torch::randn({4, mc.options.in_channels, mc.options.input_size, mc.options.input_size});
    const at::Tensor x = torch::randn({2, mc.options.in_channels, mc.options.input_size, mc.options.input_size});
    const ModelAssignment mix = mixed_assignment(layers, 3);
    std::vector<at::Tensor> outs;
    std::vector<std::string> described;
    for (KernelPath path : {KernelPath::Auto, KernelPath::Gather, KernelPath::Reference}) {
        EngineOptions o;
        o.path = path;
        o.threads = 2;
        Engine e(library(), o);
        net->set_runner(&e);
        torch::NoGradGuard ng;
        e.begin_calibration();
        net->forward(calib);
        e.finish_calibration();
        e.set_assignment(mix);
        outs.push_back(net->forward(x));
        if (path == KernelPath::Auto)
            for (const auto& l : layers) described.push_back(e.describe_layer(l.index));
        net->set_runner(nullptr);
    }
    EXPECT_TRUE(at::equal(outs[0], outs[2])) << mc.name << ": auto vs reference, max diff "
                                             << (outs[0] - outs[2]).abs().max().item<float>();
    EXPECT_TRUE(at::equal(outs[1], outs[2])) << mc.name << ": gather vs reference";
    // The auto path really mixed kernels: some layer ran separable terms and some gathered.
    bool sep = false, gat = false;
    for (const auto& d : described) sep |= d.find("separable") != std::string::npos, gat |= d.find("gather") != std::string::npos;
    EXPECT_TRUE(sep && gat) << mc.name;
}

INSTANTIATE_TEST_SUITE_P(Zoo, EngineModels,
                         ::testing::Values(ModelCase{"lenet5", {1, 32, 10, 1.0}}, ModelCase{"vgg11", {3, 32, 10, 0.125}},
                                           ModelCase{"resnet18", {3, 32, 10, 0.125}},
                                           ModelCase{"efficientnet_lite0", {3, 32, 10, 0.25}}),
                         [](const auto& info) { return info.param.name; });

// Real data: LeNet-5, one short epoch on Fashion-MNIST. The int8-exact network stays within
// a point of float, and a coarse truncation (k = 9) loses more than a fine one (k = 2).
TEST(EngineLeNet5, Int8ExactTracksFloatOnFashionMnist) {
    if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") &&
        !std::getenv("HAWX_FASHION_MNIST_DIR"))
        GTEST_SKIP() << "Fashion-MNIST is not installed (apt install dataset-fashion-mnist)";
    const Dataset train = hawx::head(fashion_mnist(true), 12000);
    const Dataset test = hawx::head(fashion_mnist(false), 2000);
    torch::manual_seed(1);
    auto net = zoo::make_model("lenet5", {1, 32, 10, 1.0});
    const hawx::InputSpec spec = hawx::input_spec_from_data(train, 1, 32);
    zoo::TrainOptions t = zoo::default_train_options("lenet5");
    t.epochs = 1;
    t.schedule = "constant";
    t.threads = 1;  // robust timing when the machine is shared
    t.val_size = 0;
    zoo::train(*net, train, spec, t, nullptr);
    const double fl = zoo::evaluate(*net, test, spec, 500).accuracy;
    ASSERT_GT(fl, 70.0) << "training failed";

    BlockLibrary lib = {exact_block(true), compile_block(P<blocks::TruncatedMul>().i("k", 2).make(), "T2"),
                        compile_block(P<blocks::TruncatedMul>().i("k", 9).make(), "T9")};
    EngineOptions eo;
    eo.threads = 2;
    Engine e(lib, eo);
    zoo::calibrate(*net, e, train, spec, 2000);
    const auto L = net->layer_descs().size();
    e.set_assignment(ModelAssignment::uniform(0, L));
    const double ex = zoo::evaluate(*net, test, spec, 500).accuracy;
    e.set_assignment(ModelAssignment::uniform(1, L));
    const double t2 = zoo::evaluate(*net, test, spec, 500).accuracy;
    e.set_assignment(ModelAssignment::uniform(2, L));
    const double t9 = zoo::evaluate(*net, test, spec, 500).accuracy;
    std::cout << "float " << fl << "  int8-exact " << ex << "  T2 " << t2 << "  T9 " << t9 << "\n";
    EXPECT_NEAR(ex, fl, 1.0);
    EXPECT_NEAR(t2, ex, 1.0);
    EXPECT_LT(t9, t2 - 1.0);
}

}  // namespace
