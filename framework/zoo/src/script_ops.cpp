// TorchScript import: the hawx:: operators that the rewritten graphs call (registered when
// libhawx_zoo is loaded).
#include <torch/library.h>

#include <exception>

#include "hawx/zoo/script_network.hpp"
#include "script_internal.hpp"

namespace hawx::zoo {

using namespace detail;

// ---------------------------------------------------------------------------------------
// The operators the rewritten graphs call. Geometry arguments document the call (the proxy
// holds the same); weight and bias are the script module's tensors, which the proxy shares.

namespace {

template <typename F>
at::Tensor keep_error(F&& f) {
    try {
        return f();
    } catch (...) {
        t_op_error = std::current_exception();
        throw;
    }
}

at::Tensor approx_conv2d_op(const at::Tensor& input, const at::Tensor& /*weight*/,
                            const c10::optional<at::Tensor>& /*bias*/, at::IntArrayRef /*stride*/,
                            at::IntArrayRef /*padding*/, at::IntArrayRef /*dilation*/, std::int64_t /*groups*/,
                            std::int64_t network_id, std::int64_t layer) {
    return keep_error([&] { return ScriptNetwork::run_layer(network_id, layer, input); });
}

at::Tensor approx_linear_op(const at::Tensor& input, const at::Tensor& /*weight*/,
                            const c10::optional<at::Tensor>& /*bias*/, std::int64_t network_id, std::int64_t layer) {
    return keep_error([&] { return ScriptNetwork::run_layer(network_id, layer, input); });
}

at::Tensor approx_batch_norm_op(const at::Tensor& input, std::int64_t network_id, std::int64_t index) {
    return keep_error([&] { return ScriptNetwork::run_batch_norm(network_id, index, input); });
}

}  // namespace

}  // namespace hawx::zoo

// A fragment: other libraries (plugins) may add operators to the same namespace.
TORCH_LIBRARY_FRAGMENT(hawx, m) {
    m.def("approx_conv2d(Tensor input, Tensor weight, Tensor? bias, int[] stride, int[] padding, int[] dilation, "
          "int groups, int network_id, int layer) -> Tensor",
          &hawx::zoo::approx_conv2d_op);
    m.def("approx_linear(Tensor input, Tensor weight, Tensor? bias, int network_id, int layer) -> Tensor",
          &hawx::zoo::approx_linear_op);
    m.def("approx_batch_norm(Tensor input, int network_id, int index) -> Tensor", &hawx::zoo::approx_batch_norm_op);
}
