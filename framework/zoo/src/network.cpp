#include "hawx/zoo/network.hpp"

#include "hawx/engine/conversions.hpp"

#include <torch/nn/module.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>

#include "hawx/sdk/error.hpp"

namespace hawx::zoo {

namespace {

// Shortest decimal form that reads back as the same double (0.5, not 0.50000000000000000).
std::string shortest(double v) {
    for (int precision = 6; precision <= 17; ++precision) {
        std::ostringstream os;
        os.precision(precision);
        os << v;
        if (std::strtod(os.str().c_str(), nullptr) == v) return os.str();
    }
    return std::to_string(v);
}

// Computes every layer in float and remembers which layer ran when.
class RecordingRunner : public engine::LayerRunner {
public:
    std::vector<const engine::LayerDesc*> calls;
    at::Tensor forward(const engine::LayerDesc& layer, const at::Tensor& x, const at::Tensor& w,
                       const at::Tensor& b) override {
        calls.push_back(&layer);
        return engine::float_forward(layer, x, w, b);
    }
};

}  // namespace

std::string ModelOptions::to_string() const {
    return "in_channels=" + std::to_string(in_channels) + " input_size=" + std::to_string(input_size) +
           " num_classes=" + std::to_string(num_classes) + " width=" + shortest(width);
}

Network::Network(std::string model_name, ModelOptions options)
    : model_name_(std::move(model_name)), options_(options) {
    const std::string where = model_name_ + ": ";
    if (options_.in_channels < 1) throw Error(where + "in_channels must be >= 1, got " + std::to_string(options_.in_channels));
    if (options_.input_size < 1) throw Error(where + "input_size must be >= 1, got " + std::to_string(options_.input_size));
    if (options_.num_classes < 1)
        throw Error(where + "num_classes must be >= 1, got " + std::to_string(options_.num_classes));
    if (!(options_.width > 0) || !std::isfinite(options_.width))
        throw Error(where + "width must be a positive number, got " + shortest(options_.width));
}

std::int64_t Network::channels(std::int64_t c) const {
    return std::max<std::int64_t>(1, std::llround(static_cast<double>(c) * options_.width));
}

void Network::add_conv_bn(const ApproxConv2d& conv, const FoldableBatchNorm2d& bn) {
    if (conv->desc.out_channels != bn->num_features)
        throw Error(model_name_ + ": BatchNorm with " + std::to_string(bn->num_features) +
                    " features cannot follow a conv with " + std::to_string(conv->desc.out_channels) + " outputs");
    conv_bn_.emplace_back(conv, bn);
}

void Network::order_layers() {
    std::map<const engine::LayerDesc*, ApproxLayer*> by_desc;
    for (const auto& item : named_modules("", /*include_self=*/false)) {
        if (auto* layer = dynamic_cast<ApproxLayer*>(item.value().get())) {
            layer->desc.name = item.key();
            layer->desc.index = 0;
            by_desc[&layer->desc] = layer;
        }
    }

    RecordingRunner recorder;
    std::vector<engine::LayerRunner*> saved;
    for (auto& entry : by_desc) {
        saved.push_back(entry.second->runner);
        entry.second->runner = &recorder;
    }
    const bool was_training = is_training();
    auto restore = [&] {
        std::size_t i = 0;
        for (auto& entry : by_desc) entry.second->runner = saved[i++];
        train(was_training);
    };
    try {
        // Eval mode, so that the dummy pass leaves the BatchNorm statistics alone.
        eval();
        torch::NoGradGuard no_grad;
        forward(at::zeros({1, options_.in_channels, options_.input_size, options_.input_size}));
    } catch (...) {
        restore();
        throw;
    }
    restore();

    std::vector<ApproxLayer*> order;
    for (const auto* d : recorder.calls) {
        ApproxLayer* layer = by_desc.at(d);
        if (layer->desc.index != 0)
            throw Error(model_name_ + ": layer '" + layer->desc.name +
                        "' runs more than once per forward pass (shared layers are not supported)");
        order.push_back(layer);
        layer->desc.index = static_cast<int>(order.size());
    }
    for (const auto& entry : by_desc)
        if (entry.second->desc.index == 0)
            throw Error(model_name_ + ": layer '" + entry.second->desc.name + "' is never used in the forward pass");
    layers_ = std::move(order);
    ordered_ = true;
}

const std::vector<ApproxLayer*>& Network::approx_layers() {
    if (!ordered_) order_layers();
    return layers_;
}

std::vector<engine::LayerDesc> Network::layer_descs() {
    std::vector<engine::LayerDesc> out;
    for (const auto* l : approx_layers()) out.push_back(l->desc);
    return out;
}

void Network::set_runner(engine::LayerRunner* runner) {
    for (auto* l : approx_layers()) l->runner = runner;
}

void fold_batchnorm(Network& net) {
    if (net.folded_) return;
    net.eval();
    torch::NoGradGuard no_grad;
    for (auto& [conv, bn] : net.conv_bn_) {
        if (bn->folded()) continue;
        conv->ensure_bias();
        const at::Tensor scale =
            bn->weight.to(at::kDouble) / (bn->running_var.to(at::kDouble) + bn->eps).sqrt();
        const at::Tensor w = conv->weight.to(at::kDouble) * scale.view({-1, 1, 1, 1});
        const at::Tensor b =
            (conv->bias.to(at::kDouble) - bn->running_mean.to(at::kDouble)) * scale + bn->bias.to(at::kDouble);
        conv->weight.copy_(w);
        conv->bias.copy_(b);
        bn->fold();
    }
    net.folded_ = true;
}

at::Tensor Network::forward(at::Tensor x) {
    if (stages_.empty()) throw Error(model_name_ + ": the model defines neither forward() nor stages");
    for (const auto& stage : stages_) x = stage(x);
    return x;
}

at::Tensor Network::run_stage(std::size_t k, const at::Tensor& x) {
    if (k >= stage_count()) throw Error(model_name_ + ": no stage " + std::to_string(k));
    return stages_.empty() ? forward(x) : stages_[k](x);
}

namespace {
// Records the highest approximable layer index a pass reaches.
class MaxLayerRecorder : public engine::LayerRunner {
public:
    at::Tensor forward(const engine::LayerDesc& d, const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) override {
        last = std::max(last, d.index);
        return engine::float_forward(d, x, w, b);
    }
    int last = 0;
};
}  // namespace

int Network::stage_last_layer(std::size_t k) {
    if (k >= stage_count()) throw Error(model_name_ + ": no stage " + std::to_string(k));
    if (stage_last_.empty()) {
        std::vector<engine::LayerRunner*> saved;
        for (ApproxLayer* l : approx_layers()) saved.push_back(l->runner);  // numbers the layers first
        MaxLayerRecorder rec;
        set_runner(&rec);
        const bool was_training = is_training();
        const auto restore = [&] {
            for (std::size_t i = 0; i < saved.size(); ++i) layers_[i]->runner = saved[i];
            train(was_training);
        };
        try {
            at::NoGradGuard ng;
            eval();
            at::Tensor x = at::zeros({1, options_.in_channels, options_.input_size, options_.input_size});
            std::vector<int> last;
            for (std::size_t k2 = 0; k2 < stage_count(); ++k2) {
                x = run_stage(k2, x);
                last.push_back(rec.last);
            }
            stage_last_ = std::move(last);
        } catch (...) {
            restore();
            throw;
        }
        restore();
    }
    return stage_last_[k];
}

namespace {
// Records the shape of every approximable layer during one float forward pass.
class ShapeRecorder : public engine::LayerRunner {
public:
    at::Tensor forward(const engine::LayerDesc& d, const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) override {
        at::Tensor y = engine::float_forward(d, x, w, b);
        if (shapes.size() < static_cast<std::size_t>(d.index)) shapes.resize(static_cast<std::size_t>(d.index));
        shapes[static_cast<std::size_t>(d.index - 1)] = engine::layer_shape(d, y.dim() == 4 ? y.size(2) * y.size(3) : 1);
        return y;
    }
    std::vector<LayerShape> shapes;
};
}  // namespace

std::vector<LayerShape> layer_shapes(Network& net, const at::Tensor& one_input) {
    ShapeRecorder rec;
    net.set_runner(&rec);
    {
        at::NoGradGuard ng;
        net.forward(one_input);
    }
    net.set_runner(nullptr);
    if (rec.shapes.size() != net.layer_descs().size())
        throw Error("model: a forward pass reached " + std::to_string(rec.shapes.size()) + " of " +
                    std::to_string(net.layer_descs().size()) + " approximable layers");
    return rec.shapes;
}

}  // namespace hawx::zoo
