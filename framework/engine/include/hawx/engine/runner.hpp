#pragma once
/// \file
/// The seam between models and the approximate inference engine. Every approximable layer
/// (Conv2d, incl. grouped/depthwise, and Linear) of a model calls its LayerRunner instead of
/// computing itself; the engine decides (float, calibration, int8 exact, approximate,
/// gradient profiling). Models never include engine internals, and the engine never
/// depends on how a model is written (zoo module, imported TorchScript).
#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <string>

namespace hawx::engine {

/// Geometry of an approximable layer. Linear layers have kernel {1,1}, stride/dilation 1,
/// padding 0, groups 1, and in_channels = in_features.
struct LayerDesc {
    int index = 0;          ///< 1..L in forward execution order
    std::string name;       ///< qualified module name, e.g. "features.0" or "layer1.0.conv1"
    bool linear = false;
    std::int64_t in_channels = 0;
    std::int64_t out_channels = 0;
    std::array<std::int64_t, 2> kernel{1, 1};
    std::array<std::int64_t, 2> stride{1, 1};
    std::array<std::int64_t, 2> padding{0, 0};
    std::array<std::int64_t, 2> dilation{1, 1};
    std::int64_t groups = 1;

    /// Multiplications per output element: (in_channels / groups) * kh * kw.
    std::int64_t fan_in() const { return in_channels / groups * kernel[0] * kernel[1]; }
};

/// Computes an approximable layer. `weight` is [out, in/groups, kh, kw] for conv and
/// [out, in] for linear (float, BatchNorm already folded where the model has it); `bias` is
/// undefined when the layer has none. Returns the layer's float output (before any
/// activation function), shaped like at::conv2d / at::linear would.
class LayerRunner {
public:
    virtual ~LayerRunner() = default;
    virtual at::Tensor forward(const LayerDesc& layer, const at::Tensor& input, const at::Tensor& weight,
                               const at::Tensor& bias) = 0;
};

/// The plain float computation of a layer (what a model does without a runner).
at::Tensor float_forward(const LayerDesc& layer, const at::Tensor& input, const at::Tensor& weight,
                         const at::Tensor& bias);

}  // namespace hawx::engine
