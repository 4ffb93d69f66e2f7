#include "hawx/engine/runner.hpp"

namespace hawx::engine {

at::Tensor float_forward(const LayerDesc& l, const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
    if (l.linear) return at::linear(x, w, b);
    return at::conv2d(x, w, b, l.stride, l.padding, l.dilation, l.groups);
}

}  // namespace hawx::engine
