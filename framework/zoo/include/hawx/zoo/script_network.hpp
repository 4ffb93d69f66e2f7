#pragma once
/// \file
/// Bring your own PyTorch model: a TorchScript archive (torch.jit.script or torch.jit.trace,
/// then .save) as a zoo::Network whose every Conv2d and Linear is approximable.
///
/// Import, in order:
///  1. torch::jit::load; the forward graph is copied and inlined; every `self.training` read
///     becomes the constant false (inference), and every read of a module attribute holding a
///     bool, int, float, string or None (flags such as torchvision's `use_res_connect`) becomes
///     that constant unless forward assigns it; constant propagation and dead-code elimination
///     then remove the branches they decide; loops with a constant trip count around a layer
///     are unrolled.
///  2. Every convolution (aten::conv2d, aten::_convolution / aten::convolution from traced
///     models) and every linear (aten::linear; aten::addmm, aten::matmul and aten::mm whose
///     second operand is a tensor attribute, possibly transposed) becomes a layer, numbered
///     1..L in the order the graph executes them. Its name is the qualified name of the module
///     holding its weight, read from the weight's prim::GetAttr chain ("layer1.0.conv1");
///     a weight attribute not called "weight" names the layer itself ("proj" for `x @ self.proj`).
///  3. A BatchNorm (aten::batch_norm on running statistics) that reads a convolution's output
///     and nothing else is paired with it, so that fold_batchnorm() folds it as for a zoo model.
///  4. The nodes are rewritten to the operators hawx::approx_conv2d, hawx::approx_linear and
///     hawx::approx_batch_norm (registered with TORCH_LIBRARY_FRAGMENT), which call this
///     network's ApproxLayer::run / FoldableBatchNorm2d::forward: set_runner(engine) makes the
///     engine compute imported layers exactly as zoo ones.
///
/// The network's modules are proxies registered under the layers' qualified names
/// (ApproxConv2d, ApproxLinear, FoldableBatchNorm2d, and plain modules in between), so
/// named_parameters() gives PyTorch's state-dict keys ("layer1.0.conv1.weight"). Conv and
/// linear weights share storage with the script module's tensors; BatchNorm tensors are copies.
/// Everything else in the graph (pooling, activations, a BatchNorm that follows no
/// convolution, ...) runs as TorchScript, in float. Imported networks are for inference:
/// the graph is specialised to eval mode at import.
///
/// Refusals: the model is refused as a whole (hawx::Error, one line naming the file, the op
/// and its source location) rather than half-approximated when a convolution or linear
///  - is transposed, or not 2-D (aten::conv_transpose2d, conv1d, conv3d, ...);
///  - sits inside a loop or branch whose trip count or condition depends on run-time values
///    (constant loops are unrolled first) or inside a call that cannot be inlined;
///  - has a weight or bias computed at run time instead of read from a module attribute, or
///    shares its weight with another layer (a module called twice);
///  - has geometry not known at import (stride, padding, ... not constants), a non-float32
///    weight, or asymmetric padding;
/// and when the graph was traced in training mode (batch_norm or dropout with training=True).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hawx/zoo/checkpoint.hpp"
#include "hawx/zoo/network.hpp"

namespace hawx::zoo {

/// What is known of a TorchScript model's input before it is probed (ScriptNetwork::load).
struct InputHint {
    int size = 0;         ///< the user's input size (square); 0: not given
    std::string size_from = "the given input size";  ///< how messages name `size` ("--input-size")
    int native_size = 0;  ///< the dataset's own image size, tried first; 0: unknown
    int channels = 0;     ///< the dataset's image channels; 0: unknown
};

/// A TorchScript model whose convolutions and linears run through the LayerRunner seam.
class ScriptNetwork : public Network {
public:
    /// Imports the TorchScript archive at `path` (see the file comment), in eval mode.
    ///
    /// `options` gives the input shape and class count: the network takes
    /// [N, in_channels, input_size, input_size] and returns [N, num_classes] (width must be 1).
    /// They are checked by one forward pass on a zero input. Without `options` they are found
    /// by such passes: in_channels from the first layer's weight (for a linear first layer,
    /// in_features = c * s * s with c = 1 or 3), num_classes from the output, and input_size:
    /// `hint.size` when given (the model must accept it); else the dataset's native size
    /// `hint.native_size` when the model accepts it; else the first of 32, 28, 224, 64, 96,
    /// 128, 16, 256, 299 (or the s above) that it accepts. A model with adaptive pooling
    /// accepts any size, so the dataset's own size comes before any guess. input_origin()
    /// says which rule chose the size.
    ///
    /// The model name is "torchscript:<file name>". Throws hawx::Error, one line naming the
    /// file: unreadable or not TorchScript, no forward method, a refusal listed in the file
    /// comment, no approximable layer, options that the model does not accept (or an output
    /// that is not [N, num_classes]).
    static std::shared_ptr<ScriptNetwork> load(const std::string& path,
                                               const std::optional<ModelOptions>& options = std::nullopt,
                                               const InputHint& hint = {});

    ~ScriptNetwork() override;
    ScriptNetwork(const ScriptNetwork&) = delete;
    ScriptNetwork& operator=(const ScriptNetwork&) = delete;

    /// Runs the rewritten TorchScript graph. The result must be a tensor (a model returning a
    /// tuple or dict throws hawx::Error).
    at::Tensor forward(at::Tensor x) override;

    const std::string& path() const;
    /// Where the input shape came from, for the log: "the model options", "--input-size",
    /// "the dataset's native size", "probed: the first size the model accepted (...)".
    const std::string& input_origin() const;
    /// The rewritten forward graph in TorchScript IR (for inspection and debugging).
    std::string graph_text() const;
    /// Source location of layer `index` (1-based) in the exported model, "file:line:col" of the
    /// op and of its outermost call site ("unknown location" when the archive has no debug info).
    const std::string& layer_location(int index) const;
    /// The id under which the rewritten graph's operators find this network.
    std::int64_t network_id() const;

    /// What the hawx:: operators call: layer `index` (1-based, graph order) of the live
    /// network `network_id`. Throws hawx::Error for an unknown id or index.
    static at::Tensor run_layer(std::int64_t network_id, std::int64_t index, const at::Tensor& x);
    /// Same for the BatchNorm paired with a layer (`index`: 1-based, graph order of the pairs).
    static at::Tensor run_batch_norm(std::int64_t network_id, std::int64_t index, const at::Tensor& x);

    struct Impl;

private:
    ScriptNetwork(std::string name, const ModelOptions& options, std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/// True when `path` is a TorchScript archive (a zip holding constants.pkl and code/), as
/// opposed to a torch.save file such as a hawx checkpoint. False for unreadable files.
bool is_torchscript_file(const std::string& path);

/// A model from either kind of file: a hawx checkpoint -> load_model(path, meta); a
/// TorchScript archive -> ScriptNetwork::load(path, options) in eval mode, with `meta`
/// (when not null) set to {model: net's name, options: its options, batchnorm_folded: false,
/// no input specification, training: {"source": "torchscript"}}. `options` only applies to
/// TorchScript archives (a checkpoint carries its own). Throws hawx::Error, one line naming
/// the file, for a file that is neither (or as those loaders do).
std::shared_ptr<Network> load_any_model(const std::string& path, CheckpointMeta* meta = nullptr,
                                        const std::optional<ModelOptions>& options = std::nullopt,
                                        const InputHint& hint = {});

}  // namespace hawx::zoo
