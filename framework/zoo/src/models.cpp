// The model zoo. Module names follow the usual PyTorch definitions (torchvision's VGG and
// ResNet, timm's EfficientNet-Lite), so their state dicts line up key by key.
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/pooling.h>

#include <array>
#include <functional>
#include <map>

#include "hawx/sdk/error.hpp"
#include "hawx/zoo/network.hpp"

namespace hawx::zoo {

namespace {

namespace nn = torch::nn;

std::string too_small(const std::string& model, int input_size, int minimum) {
    return model + ": input_size " + std::to_string(input_size) + " is too small for this model (minimum " +
           std::to_string(minimum) + ")";
}

// ---------------------------------------------------------------------------------------
// LeNet-5: conv 6@5x5 -> maxpool 2 -> conv 16@5x5 -> maxpool 2 -> FC 120 -> 84 -> classes, ReLU.
class LeNet5 : public Network {
public:
    explicit LeNet5(const ModelOptions& o) : Network("lenet5", o) {
        // 32 -> 28 -> 14 -> 10 -> 5 (the classic 32x32 input); floor pooling as nn.MaxPool2d(2).
        const int s = ((o.input_size - 4) / 2 - 4) / 2;
        if (o.input_size < 16 || s < 1) throw Error(too_small("lenet5", o.input_size, 16));
        const auto c1 = channels(6), c2 = channels(16), f1 = channels(120), f2 = channels(84);
        conv1 = register_module("conv1", ApproxConv2d(o.in_channels, c1, 5));
        conv2 = register_module("conv2", ApproxConv2d(c1, c2, 5));
        fc1 = register_module("fc1", ApproxLinear(c2 * s * s, f1));
        fc2 = register_module("fc2", ApproxLinear(f1, f2));
        fc3 = register_module("fc3", ApproxLinear(f2, o.num_classes));
        // one stage per layer: a sweep resumes right before the first layer that changed
        add_stage([this](const at::Tensor& x) { return at::max_pool2d(at::relu(conv1(x)), {2, 2}); });
        add_stage([this](const at::Tensor& x) { return at::max_pool2d(at::relu(conv2(x)), {2, 2}).flatten(1); });
        add_stage([this](const at::Tensor& x) { return at::relu(fc1(x)); });
        add_stage([this](const at::Tensor& x) { return at::relu(fc2(x)); });
        add_stage([this](const at::Tensor& x) { return fc3(x); });
    }

private:
    ApproxConv2d conv1{nullptr}, conv2{nullptr};
    ApproxLinear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
};

// ---------------------------------------------------------------------------------------
// VGG-11 with BatchNorm, CIFAR style: features as torchvision's vgg11_bn (conv 3x3 with bias,
// BN, ReLU; "M" = maxpool 2), global average pool, classifier 512 -> 512 -> 512 -> classes.
// Pools use ceil mode, which equals floor mode on even sizes (32 -> 16 -> 8 -> 4 -> 2 -> 1)
// and keeps odd ones >= 1 (28 -> 14 -> 7 -> 4 -> 2 -> 1).
class Vgg11 : public Network {
public:
    explicit Vgg11(const ModelOptions& o) : Network("vgg11", o) {
        constexpr int M = 0;
        const std::array<int, 13> cfg = {64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M};
        std::int64_t in = o.in_channels;
        for (int v : cfg) {
            if (v == M) {
                features->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(2).ceil_mode(true)));
                continue;
            }
            const auto c = channels(v);
            ApproxConv2d conv(in, c, 3, 1, 1);
            FoldableBatchNorm2d bn(c);
            features->push_back(conv);
            features->push_back(bn);
            features->push_back(nn::ReLU());
            add_conv_bn(conv, bn);
            in = c;
        }
        register_module("features", features);
        const auto hidden = channels(512);
        classifier->push_back(ApproxLinear(in, hidden));
        classifier->push_back(nn::ReLU());
        classifier->push_back(ApproxLinear(hidden, hidden));
        classifier->push_back(nn::ReLU());
        classifier->push_back(ApproxLinear(hidden, o.num_classes));
        register_module("classifier", classifier);
        // Stages: each conv with its BN, ReLU and a following pool; then the classifier's
        // linear layers (the global pool opens the first).
        const auto is = [this](std::size_t i, auto kind) {
            return i < features->size() && features->ptr(i)->as<decltype(kind)>() != nullptr;
        };
        std::size_t begin = 0;
        for (std::size_t i = 0; i < features->size(); ++i) {
            const bool relu = is(i, nn::ReLU(nullptr)), pool = is(i, nn::MaxPool2d(nullptr));
            if (!(pool || (relu && !is(i + 1, nn::MaxPool2d(nullptr))))) continue;
            add_stage([this, begin, end = i + 1](const at::Tensor& x) { return run(*features, begin, end, x); });
            begin = i + 1;
        }
        add_stage([this](const at::Tensor& x) {
            return run(*classifier, 0, 2, at::adaptive_avg_pool2d(x, {1, 1}).flatten(1));
        });
        add_stage([this](const at::Tensor& x) { return run(*classifier, 2, 4, x); });
        add_stage([this](const at::Tensor& x) { return run(*classifier, 4, classifier->size(), x); });
    }

private:
    // Modules [begin, end) of a Sequential, in order.
    static at::Tensor run(nn::SequentialImpl& seq, std::size_t begin, std::size_t end, at::Tensor x) {
        for (auto it = seq.begin() + static_cast<std::ptrdiff_t>(begin); it != seq.begin() + static_cast<std::ptrdiff_t>(end); ++it)
            x = it->forward(x);
        return x;
    }
    nn::Sequential features, classifier;
};

// ---------------------------------------------------------------------------------------
// ResNet-18, CIFAR variant: 3x3 stride-1 stem, no stem pooling, 4 stages of 2 BasicBlocks,
// 1x1 conv + BN shortcut ("downsample", as torchvision) where the shape changes.
class BasicBlockImpl : public nn::Module {
public:
    BasicBlockImpl(std::int64_t in, std::int64_t out, std::int64_t stride) {
        conv1 = register_module("conv1", ApproxConv2d(ConvSpec{in, out, 3, stride, 1, 1, false}));
        bn1 = register_module("bn1", FoldableBatchNorm2d(out));
        conv2 = register_module("conv2", ApproxConv2d(ConvSpec{out, out, 3, 1, 1, 1, false}));
        bn2 = register_module("bn2", FoldableBatchNorm2d(out));
        if (stride != 1 || in != out) {
            down_conv = ApproxConv2d(ConvSpec{in, out, 1, stride, 0, 1, false});
            down_bn = FoldableBatchNorm2d(out);
            downsample = register_module("downsample", nn::Sequential(down_conv, down_bn));
        }
    }

    at::Tensor forward(const at::Tensor& x) {
        at::Tensor out = at::relu(bn1(conv1(x)));
        out = bn2(conv2(out));
        // After conv2, as torchvision's BasicBlock: this fixes the layers' execution order.
        const at::Tensor identity = downsample.is_empty() ? x : downsample->forward(x);
        return at::relu(out + identity);
    }

    ApproxConv2d conv1{nullptr}, conv2{nullptr}, down_conv{nullptr};
    FoldableBatchNorm2d bn1{nullptr}, bn2{nullptr}, down_bn{nullptr};
    nn::Sequential downsample{nullptr};
};
TORCH_MODULE(BasicBlock);

class ResNet18 : public Network {
public:
    explicit ResNet18(const ModelOptions& o) : Network("resnet18", o) {
        const auto c64 = channels(64);
        conv1 = register_module("conv1", ApproxConv2d(ConvSpec{o.in_channels, c64, 3, 1, 1, 1, false}));
        bn1 = register_module("bn1", FoldableBatchNorm2d(c64));
        add_conv_bn(conv1, bn1);
        std::int64_t in = c64;
        const std::array<int, 4> widths = {64, 128, 256, 512};
        for (int stage = 0; stage < 4; ++stage) {
            const auto out = channels(widths[stage]);
            nn::Sequential layer;
            for (int b = 0; b < 2; ++b) {
                BasicBlock block(b == 0 ? in : out, out, (stage > 0 && b == 0) ? 2 : 1);
                add_conv_bn(block->conv1, block->bn1);
                add_conv_bn(block->conv2, block->bn2);
                if (!block->downsample.is_empty()) add_conv_bn(block->down_conv, block->down_bn);
                layer->push_back(block);
            }
            layers[stage] = register_module("layer" + std::to_string(stage + 1), layer);
            in = out;
        }
        fc = register_module("fc", ApproxLinear(in, o.num_classes));
        // Stages: the stem, each BasicBlock (its input is the only state a block needs), the head.
        add_stage([this](const at::Tensor& x) { return at::relu(bn1(conv1(x))); });
        for (auto& layer : layers)
            for (std::size_t b = 0; b < layer->size(); ++b)
                add_stage([block = layer->ptr<BasicBlockImpl>(b)](const at::Tensor& x) { return block->forward(x); });
        add_stage([this](const at::Tensor& x) { return fc(at::adaptive_avg_pool2d(x, {1, 1}).flatten(1)); });
    }

private:
    ApproxConv2d conv1{nullptr};
    FoldableBatchNorm2d bn1{nullptr};
    std::array<nn::Sequential, 4> layers{nn::Sequential(nullptr), nn::Sequential(nullptr), nn::Sequential(nullptr),
                                         nn::Sequential(nullptr)};
    ApproxLinear fc{nullptr};
};

// ---------------------------------------------------------------------------------------
// EfficientNet-Lite0 (timm's efficientnet_lite0 layout and names): no squeeze-excite, ReLU6,
// stem 32 and head 1280, MBConv stages of EfficientNet-B0.
at::Tensor clamp6(const at::Tensor& x) { return at::hardtanh(x, 0.0, 6.0); }

// expand == 1: depthwise-separable block (conv_dw, bn1, conv_pw, bn2);
// otherwise inverted residual (conv_pw, bn1, conv_dw, bn2, conv_pwl, bn3).
class MBConvImpl : public nn::Module {
public:
    MBConvImpl(std::int64_t in, std::int64_t out, std::int64_t expand, std::int64_t kernel, std::int64_t stride)
        : skip(stride == 1 && in == out), expanded(expand != 1) {
        const std::int64_t mid = in * expand;
        const ConvSpec dw{mid, mid, kernel, stride, kernel / 2, mid, false};
        if (expanded) {
            conv_pw = register_module("conv_pw", ApproxConv2d(ConvSpec{in, mid, 1, 1, 0, 1, false}));
            bn1 = register_module("bn1", FoldableBatchNorm2d(mid));
            conv_dw = register_module("conv_dw", ApproxConv2d(dw));
            bn2 = register_module("bn2", FoldableBatchNorm2d(mid));
            conv_pwl = register_module("conv_pwl", ApproxConv2d(ConvSpec{mid, out, 1, 1, 0, 1, false}));
            bn3 = register_module("bn3", FoldableBatchNorm2d(out));
        } else {
            conv_dw = register_module("conv_dw", ApproxConv2d(dw));
            bn1 = register_module("bn1", FoldableBatchNorm2d(mid));
            conv_pw = register_module("conv_pw", ApproxConv2d(ConvSpec{mid, out, 1, 1, 0, 1, false}));
            bn2 = register_module("bn2", FoldableBatchNorm2d(out));
        }
    }

    at::Tensor forward(const at::Tensor& x) {
        at::Tensor y;
        if (expanded) {
            y = clamp6(bn1(conv_pw(x)));
            y = clamp6(bn2(conv_dw(y)));
            y = bn3(conv_pwl(y));
        } else {
            y = clamp6(bn1(conv_dw(x)));
            y = bn2(conv_pw(y));
        }
        return skip ? y + x : y;
    }

    // (conv, bn) pairs in this block.
    std::vector<std::pair<ApproxConv2d, FoldableBatchNorm2d>> pairs() const {
        if (expanded) return {{conv_pw, bn1}, {conv_dw, bn2}, {conv_pwl, bn3}};
        return {{conv_dw, bn1}, {conv_pw, bn2}};
    }

    bool skip, expanded;
    ApproxConv2d conv_pw{nullptr}, conv_dw{nullptr}, conv_pwl{nullptr};
    FoldableBatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
};
TORCH_MODULE(MBConv);

class EfficientNetLite0 : public Network {
public:
    explicit EfficientNetLite0(const ModelOptions& o) : Network("efficientnet_lite0", o) {
        struct Stage {
            int expand, kernel, stride, out, repeats;
        };
        const std::array<Stage, 7> stages = {{{1, 3, 1, 16, 1},
                                              {6, 3, 2, 24, 2},
                                              {6, 5, 2, 40, 2},
                                              {6, 3, 2, 80, 3},
                                              {6, 5, 1, 112, 3},
                                              {6, 5, 2, 192, 4},
                                              {6, 3, 1, 320, 1}}};
        // Small inputs: the stem downsamples only from 64x64 up, and a later stride-2 layer
        // keeps stride 2 only while its input is at least 4x4, so the last feature map is
        // >= 2x2 where the input allows (224 -> 7 as the original; 32 -> 2; 1 -> 1).
        int size = o.input_size;
        auto stride_for = [&size](int nominal, int min_input) {
            const int s = (nominal == 2 && size >= min_input) ? 2 : 1;
            size = (size - 1) / s + 1;  // k odd, padding k/2
            return s;
        };
        const auto stem = channels(32);
        conv_stem = register_module("conv_stem", ApproxConv2d(ConvSpec{o.in_channels, stem, 3, stride_for(2, 64), 1, 1, false}));
        bn1 = register_module("bn1", FoldableBatchNorm2d(stem));
        add_conv_bn(conv_stem, bn1);
        std::int64_t in = stem;
        for (const Stage& st : stages) {
            nn::Sequential stage;
            const auto out = channels(st.out);
            for (int r = 0; r < st.repeats; ++r) {
                MBConv block(in, out, st.expand, st.kernel, r == 0 ? stride_for(st.stride, 4) : 1);
                for (const auto& [conv, bn] : block->pairs()) add_conv_bn(conv, bn);
                stage->push_back(block);
                in = out;
            }
            blocks->push_back(stage);
            block_stages_.push_back(stage);
        }
        register_module("blocks", blocks);
        const auto head = channels(1280);
        conv_head = register_module("conv_head", ApproxConv2d(ConvSpec{in, head, 1, 1, 0, 1, false}));
        bn2 = register_module("bn2", FoldableBatchNorm2d(head));
        add_conv_bn(conv_head, bn2);
        classifier = register_module("classifier", ApproxLinear(head, o.num_classes));
        // Stages: the stem, each MBConv block, the head conv, the classifier.
        add_stage([this](const at::Tensor& x) { return clamp6(bn1(conv_stem(x))); });
        for (auto& stage : block_stages_)
            for (std::size_t b = 0; b < stage->size(); ++b)
                add_stage([block = stage->ptr<MBConvImpl>(b)](const at::Tensor& x) { return block->forward(x); });
        add_stage([this](const at::Tensor& x) { return clamp6(bn2(conv_head(x))); });
        add_stage([this](const at::Tensor& x) { return classifier(at::adaptive_avg_pool2d(x, {1, 1}).flatten(1)); });
    }

private:
    ApproxConv2d conv_stem{nullptr}, conv_head{nullptr};
    FoldableBatchNorm2d bn1{nullptr}, bn2{nullptr};
    nn::ModuleList blocks;  // of Sequential stages (AnyModule cannot hold a Sequential)
    std::vector<nn::Sequential> block_stages_;
    ApproxLinear classifier{nullptr};
};

using Factory = std::function<std::shared_ptr<Network>(const ModelOptions&)>;

const std::map<std::string, Factory>& factories() {
    static const std::map<std::string, Factory> f = {
        {"lenet5", [](const ModelOptions& o) { return std::make_shared<LeNet5>(o); }},
        {"vgg11", [](const ModelOptions& o) { return std::make_shared<Vgg11>(o); }},
        {"resnet18", [](const ModelOptions& o) { return std::make_shared<ResNet18>(o); }},
        {"efficientnet_lite0", [](const ModelOptions& o) { return std::make_shared<EfficientNetLite0>(o); }},
    };
    return f;
}

}  // namespace

std::vector<std::string> model_names() { return {"lenet5", "vgg11", "resnet18", "efficientnet_lite0"}; }

std::shared_ptr<Network> make_model(const std::string& name, const ModelOptions& options) {
    const auto it = factories().find(name);
    if (it == factories().end()) {
        std::string names;
        for (const auto& n : model_names()) names += (names.empty() ? "" : ", ") + n;
        throw Error("unknown model '" + name + "' (models: " + names + ")");
    }
    std::shared_ptr<Network> net = it->second(options);
    net->approx_layers();  // finds the execution order now, so a broken model fails here
    return net;
}

}  // namespace hawx::zoo
