// Zoo models: approximable layer counts, forward execution order, qualified names, geometry,
// output shapes, runner dispatch.
#include <gtest/gtest.h>
#include <torch/utils.h>

#include <map>

#include "hawx/sdk/error.hpp"
#include "hawx/data/tensor.hpp"
#include "hawx/zoo/network.hpp"
#include "zoo_test_util.hpp"

using hawx::zoo::make_model;
using hawx::zoo::ModelOptions;

namespace {

ModelOptions opts(int in, int size, int classes, double width) {
    ModelOptions o;
    o.in_channels = in;
    o.input_size = size;
    o.num_classes = classes;
    o.width = width;
    return o;
}

std::vector<std::string> names_of(hawx::zoo::Network& net) {
    std::vector<std::string> out;
    for (const auto& d : net.layer_descs()) out.push_back(d.name);
    return out;
}

// Records every call (name, input shape, weight) and computes in float.
struct RecordingRunner : hawx::engine::LayerRunner {
    std::vector<std::string> names;
    std::vector<int> indices;
    std::vector<std::vector<std::int64_t>> input_shapes;
    at::Tensor forward(const hawx::engine::LayerDesc& l, const at::Tensor& x, const at::Tensor& w,
                       const at::Tensor& b) override {
        names.push_back(l.name);
        indices.push_back(l.index);
        input_shapes.push_back(x.sizes().vec());
        return hawx::engine::float_forward(l, x, w, b);
    }
};

struct CountCase {
    const char* model;
    std::size_t layers;
    std::size_t linear;
    ModelOptions options;
};

void PrintTo(const CountCase& c, std::ostream* os) { *os << c.model; }

class ModelCounts : public ::testing::TestWithParam<CountCase> {};

TEST_P(ModelCounts, LayersAreNumberedInExecutionOrderAndOutputShapeIsRight) {
    const auto& c = GetParam();
    torch::manual_seed(0);
    auto net = make_model(c.model, c.options);
    const auto descs = net->layer_descs();
    ASSERT_EQ(descs.size(), c.layers);
    std::size_t linear = 0;
    for (std::size_t i = 0; i < descs.size(); ++i) {
        EXPECT_EQ(descs[i].index, static_cast<int>(i + 1));
        EXPECT_FALSE(descs[i].name.empty());
        linear += descs[i].linear;
    }
    EXPECT_EQ(linear, c.linear);
    EXPECT_TRUE(descs.back().linear) << "the classifier runs last";

    // A runner sees exactly the layers, in the numbered order, once each.
    RecordingRunner rec;
    net->set_runner(&rec);
    net->eval();
    torch::NoGradGuard no_grad;
    const at::Tensor y = net->forward(at::randn({2, c.options.in_channels, c.options.input_size, c.options.input_size}));
    EXPECT_EQ(y.sizes(), (at::IntArrayRef{2, c.options.num_classes}));
    ASSERT_EQ(rec.names.size(), c.layers);
    for (std::size_t i = 0; i < c.layers; ++i) {
        EXPECT_EQ(rec.indices[i], static_cast<int>(i + 1));
        EXPECT_EQ(rec.names[i], descs[i].name);
    }
    // The runner's float result equals the model's own float path.
    const at::Tensor with_runner = net->forward(at::ones({1, c.options.in_channels, c.options.input_size, c.options.input_size}));
    net->set_runner(nullptr);
    const at::Tensor plain = net->forward(at::ones({1, c.options.in_channels, c.options.input_size, c.options.input_size}));
    EXPECT_TRUE(at::equal(with_runner, plain));
}

INSTANTIATE_TEST_SUITE_P(Zoo, ModelCounts,
                         ::testing::Values(CountCase{"lenet5", 5, 3, opts(1, 32, 10, 1.0)},
                                           CountCase{"vgg11", 11, 3, opts(3, 32, 10, 0.125)},
                                           CountCase{"resnet18", 21, 1, opts(3, 32, 10, 0.125)},
                                           // 1 stem + 2 (first block, no expansion) + 15 x 3 + 1 head = 49 convs, + 1 FC
                                           CountCase{"efficientnet_lite0", 50, 1, opts(3, 32, 10, 0.25)}),
                         [](const auto& info) { return std::string(info.param.model); });

TEST(ZooModels, LeNet5NamesAndGeometry) {
    auto net = make_model("lenet5", opts(1, 32, 10, 1.0));
    EXPECT_EQ(names_of(*net), (std::vector<std::string>{"conv1", "conv2", "fc1", "fc2", "fc3"}));
    const auto d = net->layer_descs();
    EXPECT_EQ(d[0].out_channels, 6);
    EXPECT_EQ(d[0].kernel[0], 5);
    EXPECT_EQ(d[0].fan_in(), 25);
    EXPECT_EQ(d[1].out_channels, 16);
    EXPECT_EQ(d[2].in_channels, 16 * 5 * 5) << "32 -> 28 -> 14 -> 10 -> 5";
    EXPECT_EQ(d[2].out_channels, 120);
    EXPECT_EQ(d[3].out_channels, 84);
    EXPECT_EQ(d[4].out_channels, 10);
    // 28x28 input: 28 -> 24 -> 12 -> 8 -> 4
    auto small = make_model("lenet5", opts(1, 28, 10, 1.0));
    EXPECT_EQ(small->layer_descs()[2].in_channels, 16 * 4 * 4);
}

TEST(ZooModels, Vgg11MatchesTorchvisionIndices) {
    auto net = make_model("vgg11", opts(3, 32, 10, 0.25));
    EXPECT_EQ(names_of(*net),
              (std::vector<std::string>{"features.0", "features.4", "features.8", "features.11", "features.15",
                                        "features.18", "features.22", "features.25", "classifier.0", "classifier.2",
                                        "classifier.4"}));
    const auto d = net->layer_descs();
    EXPECT_EQ(d[0].out_channels, 16);  // round(64 * 0.25)
    EXPECT_EQ(d[7].out_channels, 128);
    EXPECT_EQ(d[8].in_channels, 128);
    EXPECT_EQ(d[8].out_channels, 128);
    EXPECT_EQ(d[10].out_channels, 10);
    // State dict keys as torchvision's vgg11_bn: conv bias, BN buffers at the next index.
    std::map<std::string, bool> keys;
    for (const auto& p : net->named_parameters()) keys[p.key()] = true;
    for (const auto& b : net->named_buffers()) keys[b.key()] = true;
    EXPECT_TRUE(keys.count("features.0.bias"));
    EXPECT_TRUE(keys.count("features.1.running_var"));
    EXPECT_TRUE(keys.count("features.1.num_batches_tracked"));
    EXPECT_TRUE(keys.count("classifier.4.weight"));
}

TEST(ZooModels, ResNet18ShortcutRunsAfterConv2) {
    auto net = make_model("resnet18", opts(3, 32, 10, 0.125));
    const auto n = names_of(*net);
    const std::vector<std::string> expected = {
        "conv1",
        "layer1.0.conv1", "layer1.0.conv2", "layer1.1.conv1", "layer1.1.conv2",
        "layer2.0.conv1", "layer2.0.conv2", "layer2.0.downsample.0", "layer2.1.conv1", "layer2.1.conv2",
        "layer3.0.conv1", "layer3.0.conv2", "layer3.0.downsample.0", "layer3.1.conv1", "layer3.1.conv2",
        "layer4.0.conv1", "layer4.0.conv2", "layer4.0.downsample.0", "layer4.1.conv1", "layer4.1.conv2",
        "fc"};
    EXPECT_EQ(n, expected);
    const auto d = net->layer_descs();
    EXPECT_EQ(d[7].kernel[0], 1);
    EXPECT_EQ(d[7].stride[0], 2);
    EXPECT_EQ(d[0].stride[0], 1) << "CIFAR stem";
    EXPECT_EQ(d[20].in_channels, 64);  // round(512 / 8)
}

TEST(ZooModels, EfficientNetLite0Structure) {
    auto net = make_model("efficientnet_lite0", opts(3, 32, 10, 0.25));
    const auto d = net->layer_descs();
    EXPECT_EQ(d.front().name, "conv_stem");
    EXPECT_EQ(d[1].name, "blocks.0.0.conv_dw");
    EXPECT_EQ(d[2].name, "blocks.0.0.conv_pw");
    EXPECT_EQ(d[3].name, "blocks.1.0.conv_pw");
    EXPECT_EQ(d[4].name, "blocks.1.0.conv_dw");
    EXPECT_EQ(d[5].name, "blocks.1.0.conv_pwl");
    EXPECT_EQ(d[d.size() - 2].name, "conv_head");
    EXPECT_EQ(d.back().name, "classifier");
    int depthwise = 0, k5 = 0;
    for (const auto& l : d)
        if (!l.linear && l.groups > 1) {
            ++depthwise;
            EXPECT_EQ(l.groups, l.in_channels);
            EXPECT_EQ(l.groups, l.out_channels);
            EXPECT_EQ(l.fan_in(), l.kernel[0] * l.kernel[1]);
            k5 += l.kernel[0] == 5;
        }
    EXPECT_EQ(depthwise, 16) << "one per MBConv block: 1+2+2+3+3+4+1";
    EXPECT_EQ(k5, 2 + 3 + 4) << "stages 3, 5, 6 use 5x5";
    EXPECT_EQ(d[4].in_channels, 4 * 6) << "expand ratio 6 on the first stage's round(16 * 0.25) = 4 channels";
    EXPECT_EQ(d[d.size() - 2].out_channels, 320) << "head 1280 * 0.25";
    EXPECT_EQ(d.front().stride[0], 1) << "small input: no stem downsampling";

    // Final feature map: 32 -> 2x2 (strides 2 at stages 2, 3, 4, 6); ImageNet size 224 -> 7x7.
    RecordingRunner rec;
    net->set_runner(&rec);
    net->eval();
    torch::NoGradGuard no_grad;
    net->forward(at::randn({1, 3, 32, 32}));
    EXPECT_EQ(rec.input_shapes[rec.input_shapes.size() - 2][2], 2);
    auto big = make_model("efficientnet_lite0", opts(3, 224, 10, 0.1));
    EXPECT_EQ(big->layer_descs().front().stride[0], 2);
    RecordingRunner rec2;
    big->set_runner(&rec2);
    big->eval();
    big->forward(at::randn({1, 3, 224, 224}));
    EXPECT_EQ(rec2.input_shapes[rec2.input_shapes.size() - 2][2], 7);
    // Tiny input: spatial size stays >= 1 everywhere.
    auto tiny = make_model("efficientnet_lite0", opts(1, 3, 4, 0.1));
    const at::Tensor y = tiny->forward(at::randn({2, 1, 3, 3}));
    EXPECT_EQ(y.sizes(), (at::IntArrayRef{2, 4}));
}

TEST(ZooModels, WidthRoundsAndNeverReachesZero) {
    auto net = make_model("vgg11", opts(3, 32, 10, 0.001));
    for (const auto& d : net->layer_descs()) EXPECT_GE(d.out_channels, 1);
    EXPECT_EQ(net->layer_descs()[0].out_channels, 1);
    auto lenet = make_model("lenet5", opts(1, 32, 10, 0.5));
    EXPECT_EQ(lenet->layer_descs()[0].out_channels, 3);   // round(6 * 0.5)
    EXPECT_EQ(lenet->layer_descs()[3].out_channels, 42);  // round(84 * 0.5)
}

TEST(ZooModels, EveryModelTakesFashionMnistShapedImages) {
    const hawx::Dataset fm = hawx::synthetic_dataset(3, 1, 28, 28, 10, 7);
    for (const auto& name : hawx::zoo::model_names()) {
        for (int channels : {1, 3}) {
            auto net = make_model(name, opts(channels, 32, 10, 0.125));
            hawx::InputSpec spec;
            spec.channels = channels;
            spec.size = 32;
            spec.mean = {0.3f};
            spec.std = {0.35f};
            const at::Tensor x = hawx::to_input(fm, 0, fm.size(), spec);
            net->eval();
            torch::NoGradGuard no_grad;
            const at::Tensor y = net->forward(x);
            EXPECT_EQ(y.sizes(), (at::IntArrayRef{3, 10})) << name << " " << channels;
            EXPECT_TRUE(at::isfinite(y).all().item<bool>()) << name;
        }
    }
}

TEST(ZooModels, PyTorchDefaultInitBounds) {
    torch::manual_seed(3);
    auto net = make_model("lenet5", opts(1, 32, 10, 1.0));
    for (auto* l : net->approx_layers()) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(l->desc.fan_in()));
        EXPECT_LE(l->weight.abs().max().item<double>(), bound + 1e-7) << l->desc.name;
        EXPECT_GT(l->weight.abs().max().item<double>(), 0.8 * bound) << l->desc.name;
        ASSERT_TRUE(l->bias.defined());
        EXPECT_LE(l->bias.abs().max().item<double>(), bound + 1e-7) << l->desc.name;
    }
}

TEST(ZooModels, BadNamesAndOptionsAreOneLineErrors) {
    const std::string unknown = hawx::test::error_of<hawx::Error>([] { make_model("alexnet", {}); });
    EXPECT_NE(unknown.find("unknown model 'alexnet'"), std::string::npos) << unknown;
    EXPECT_NE(unknown.find("efficientnet_lite0"), std::string::npos) << unknown;
    const std::string small = hawx::test::error_of<hawx::Error>([] { make_model("lenet5", opts(1, 12, 10, 1.0)); });
    EXPECT_NE(small.find("lenet5: input_size 12 is too small"), std::string::npos) << small;
    const std::string width = hawx::test::error_of<hawx::Error>([] { make_model("vgg11", opts(3, 32, 10, 0.0)); });
    EXPECT_NE(width.find("vgg11: width must be a positive number"), std::string::npos) << width;
    EXPECT_TRUE(hawx::test::one_line(unknown) && hawx::test::one_line(small) && hawx::test::one_line(width));
}

}  // namespace
