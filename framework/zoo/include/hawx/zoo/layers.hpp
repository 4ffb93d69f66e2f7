#pragma once
/// \file
/// The approximable layers of the model zoo (Conv2d, incl. grouped/depthwise, and Linear) and
/// a BatchNorm2d that can be folded away. Parameter names, shapes and default initialisation
/// are PyTorch's, so state dicts move between the two unchanged.
///
/// An approximable layer never computes itself: it hands its input, weight and bias to its
/// engine::LayerRunner, or to engine::float_forward when no runner is set (the default).
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <ostream>

#include "hawx/engine/runner.hpp"

namespace hawx::zoo {

/// What every approximable layer has: its geometry, its parameters and the runner that
/// computes it. `desc.index` and `desc.name` are filled in by the Network that owns the layer.
class ApproxLayer {
public:
    virtual ~ApproxLayer() = default;

    engine::LayerDesc desc;
    /// Not owned; null means plain float computation.
    engine::LayerRunner* runner = nullptr;
    /// The registered parameter "weight": [out, in/groups, kh, kw] or [out, in].
    at::Tensor weight;
    /// The registered parameter "bias" ([out]); undefined when the layer has none.
    at::Tensor bias;

    /// The layer as a module (parameters, training flag).
    virtual torch::nn::Module& module() = 0;
    /// Registers a zero "bias" parameter when the layer has none (BatchNorm folding needs one).
    virtual void ensure_bias() = 0;

    /// runner ? runner->forward(desc, x, weight, bias) : engine::float_forward(desc, x, weight, bias).
    at::Tensor run(const at::Tensor& x) const;
};

/// Geometry of an ApproxConv2d (square kernels, as every zoo model uses).
struct ConvSpec {
    std::int64_t in_channels = 0;
    std::int64_t out_channels = 0;
    std::int64_t kernel_size = 1;
    std::int64_t stride = 1;
    std::int64_t padding = 0;
    std::int64_t groups = 1;
    bool bias = true;
};

/// Conv2d whose computation goes through the LayerRunner seam. Parameters "weight"
/// [out, in/groups, k, k] and "bias" [out] (if any), initialised as torch.nn.Conv2d does
/// (kaiming_uniform_(a=sqrt(5)), bias uniform(+-1/sqrt(fan_in))).
/// Throws hawx::Error for impossible geometry (non-positive sizes, groups not dividing channels).
class ApproxConv2dImpl : public torch::nn::Cloneable<ApproxConv2dImpl>, public ApproxLayer {
public:
    explicit ApproxConv2dImpl(const ConvSpec& spec);
    ApproxConv2dImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
                     std::int64_t stride = 1, std::int64_t padding = 0, std::int64_t groups = 1, bool has_bias = true);

    /// (Re)registers the parameters (Cloneable contract); values are set by reset_parameters().
    void reset() override;
    /// PyTorch's default initialisation (draws from torch's global generator).
    void reset_parameters();
    at::Tensor forward(const at::Tensor& x) { return run(x); }

    torch::nn::Module& module() override { return *this; }
    void ensure_bias() override;
    void pretty_print(std::ostream& stream) const override;
};
TORCH_MODULE(ApproxConv2d);

/// Linear whose computation goes through the LayerRunner seam. Parameters "weight"
/// [out, in] and "bias" [out] (if any), initialised as torch.nn.Linear does.
class ApproxLinearImpl : public torch::nn::Cloneable<ApproxLinearImpl>, public ApproxLayer {
public:
    ApproxLinearImpl(std::int64_t in_features, std::int64_t out_features, bool has_bias = true);

    void reset() override;
    void reset_parameters();
    at::Tensor forward(const at::Tensor& x) { return run(x); }

    torch::nn::Module& module() override { return *this; }
    void ensure_bias() override;
    void pretty_print(std::ostream& stream) const override;
};
TORCH_MODULE(ApproxLinear);

/// torch.nn.BatchNorm2d (same parameters "weight", "bias" and buffers "running_mean",
/// "running_var", "num_batches_tracked"; same training and eval behaviour) that becomes the
/// identity once fold_batchnorm() has moved it into the preceding convolution.
class FoldableBatchNorm2dImpl : public torch::nn::Cloneable<FoldableBatchNorm2dImpl> {
public:
    explicit FoldableBatchNorm2dImpl(std::int64_t num_features, double eps = 1e-5, double momentum = 0.1);

    void reset() override;
    at::Tensor forward(const at::Tensor& x);

    /// True after fold(): forward() returns its input unchanged.
    bool folded() const { return folded_; }
    /// Turns the layer into the identity and sets its parameters to identity values
    /// (weight 1, bias 0, mean 0, var 1) so that a saved state dict says what it does.
    void fold();

    void pretty_print(std::ostream& stream) const override;

    std::int64_t num_features;
    double eps;
    double momentum;
    at::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

private:
    bool folded_ = false;
};
TORCH_MODULE(FoldableBatchNorm2d);

}  // namespace hawx::zoo
