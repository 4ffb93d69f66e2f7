#pragma once
/// \file
/// The base of every zoo model: a torch::nn::Module with a name, its construction options
/// and the list of its approximable layers in forward execution order.
#include <torch/nn/module.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <hawx/sdk/configuration.hpp>

#include "hawx/engine/runner.hpp"
#include "hawx/zoo/layers.hpp"

namespace hawx::zoo {

/// What a model is built for. Channel counts of a model are max(1, round(c * width)).
struct ModelOptions {
    int in_channels = 3;
    int input_size = 32;  ///< square inputs: H = W = input_size
    int num_classes = 10;
    double width = 1.0;  ///< channel multiplier (> 0)

    bool operator==(const ModelOptions& o) const {
        return in_channels == o.in_channels && input_size == o.input_size && num_classes == o.num_classes &&
               width == o.width;
    }
    bool operator!=(const ModelOptions& o) const { return !(*this == o); }
    /// "in_channels=1 input_size=32 num_classes=10 width=1" (for messages).
    std::string to_string() const;
};

/// A model whose approximable layers are ApproxConv2d / ApproxLinear modules.
class Network : public torch::nn::Module {
public:
    Network(std::string model_name, ModelOptions options);

    /// Logits [N, num_classes] for a float input [N, in_channels, input_size, input_size].
    /// Models that declare stages (add_stage) get the stages in order.
    virtual at::Tensor forward(at::Tensor x);

    /// The forward pass as a chain x_{k+1} = run_stage(k, x_k) from the input x_0 to the
    /// logits, so that a sweep over configurations can resume from a cached stage output
    /// instead of rerunning the network (every non-approximable op included). A model without
    /// declared stages has one: forward().
    std::size_t stage_count() const { return stages_.empty() ? 1 : stages_.size(); }
    at::Tensor run_stage(std::size_t k, const at::Tensor& x);
    /// The highest approximable layer index (1-based, 0: none) that stages 0..k use: stage k's
    /// output depends only on the blocks of layers 1..stage_last_layer(k). Found once by a
    /// recording pass on a zero input.
    int stage_last_layer(std::size_t k);

    const std::string& model_name() const { return model_name_; }
    const ModelOptions& model_options() const { return options_; }
    /// max(1, round(c * width)): a channel count at this network's width.
    std::int64_t channels(std::int64_t c) const;

    /// The approximable layers in forward execution order; layer i has desc.index = i + 1 and
    /// desc.name = its qualified module name ("layer1.0.conv1"). The order is found once, by
    /// running one forward pass on a zero input (in eval mode, without gradients) with a
    /// recording runner. Throws hawx::Error if a layer is never called or called twice.
    /// Pointers stay valid as long as the network lives.
    const std::vector<ApproxLayer*>& approx_layers();
    /// Copies of approx_layers()' descriptors.
    std::vector<engine::LayerDesc> layer_descs();
    /// Sets the runner of every approximable layer (nullptr: plain float).
    void set_runner(engine::LayerRunner* runner);

    /// True once fold_batchnorm() has run.
    bool batchnorm_folded() const { return folded_; }
    /// The (conv, bn) pairs fold_batchnorm() folds, in construction order.
    const std::vector<std::pair<ApproxConv2d, FoldableBatchNorm2d>>& conv_bn_pairs() const { return conv_bn_; }

protected:
    using StageFn = std::function<at::Tensor(const at::Tensor&)>;
    /// Appends a stage (constructors call it in forward order; see run_stage).
    void add_stage(StageFn stage) { stages_.push_back(std::move(stage)); }

    /// Declares that `bn` normalises `conv`'s output directly (nothing in between), so that
    /// fold_batchnorm() can fold it. Model constructors call this for every such pair.
    void add_conv_bn(const ApproxConv2d& conv, const FoldableBatchNorm2d& bn);

private:
    friend void fold_batchnorm(Network& net);
    void order_layers();

    std::string model_name_;
    ModelOptions options_;
    std::vector<std::pair<ApproxConv2d, FoldableBatchNorm2d>> conv_bn_;
    std::vector<ApproxLayer*> layers_;
    std::vector<StageFn> stages_;
    std::vector<int> stage_last_;  // per stage, computed on first use
    bool ordered_ = false;
    bool folded_ = false;
};

/// Folds every BatchNorm declared with add_conv_bn into its convolution
/// (w' = w * g / sqrt(var + eps), b' = (b - mean) * g / sqrt(var + eps) + beta, computed in
/// double; a bias is created where the conv had none) and turns the BatchNorm into the
/// identity, so that a LayerRunner sees the weights inference actually uses. Puts the network
/// in eval mode (folding uses the running statistics); a folded network can no longer be
/// trained. Folding twice is a no-op.
void fold_batchnorm(Network& net);

/// The SDK shape of every approximable layer (output positions from one float forward pass
/// of `one_input`, without gradients; the layers' runners are reset to none). Throws
/// hawx::Error when the pass does not reach every layer.
std::vector<LayerShape> layer_shapes(Network& net, const at::Tensor& one_input);

/// Builds a zoo model with freshly initialised weights (drawn from torch's global generator:
/// call torch::manual_seed first for reproducible weights). Names: lenet5, vgg11, resnet18,
/// efficientnet_lite0 (see model_names()). Throws hawx::Error naming the model for an unknown
/// name or impossible options (input too small for the model, width <= 0, ...).
std::shared_ptr<Network> make_model(const std::string& name, const ModelOptions& options);

/// The names make_model accepts.
std::vector<std::string> model_names();

}  // namespace hawx::zoo
