#include "hawx/zoo/layers.hpp"

#include <torch/nn/init.h>

#include <cmath>

#include "hawx/sdk/error.hpp"

namespace hawx::zoo {

at::Tensor ApproxLayer::run(const at::Tensor& x) const {
    return runner ? runner->forward(desc, x, weight, bias) : engine::float_forward(desc, x, weight, bias);
}

namespace {

// torch.nn's reset_parameters for Conv*d and Linear: kaiming_uniform_(a=sqrt(5)) for the
// weight, uniform(+-1/sqrt(fan_in)) for the bias.
void pytorch_default_init(at::Tensor& weight, at::Tensor& bias) {
    torch::NoGradGuard no_grad;
    torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
    if (bias.defined()) {
        const auto fan_in = weight.numel() / weight.size(0);
        const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
        bias.uniform_(-bound, bound);
    }
}

void print_desc(std::ostream& os, const char* type, const engine::LayerDesc& d, bool has_bias) {
    os << "hawx::zoo::" << type << "(" << d.in_channels << ", " << d.out_channels;
    if (!d.linear)
        os << ", kernel_size=" << d.kernel[0] << ", stride=" << d.stride[0] << ", padding=" << d.padding[0]
           << ", groups=" << d.groups;
    os << ", bias=" << (has_bias ? "true" : "false") << ")";
}

}  // namespace

ApproxConv2dImpl::ApproxConv2dImpl(const ConvSpec& s) {
    if (s.in_channels < 1 || s.out_channels < 1 || s.kernel_size < 1 || s.stride < 1 || s.padding < 0 ||
        s.groups < 1 || s.in_channels % s.groups != 0 || s.out_channels % s.groups != 0)
        throw Error("ApproxConv2d: impossible geometry (in " + std::to_string(s.in_channels) + ", out " +
                    std::to_string(s.out_channels) + ", kernel " + std::to_string(s.kernel_size) + ", stride " +
                    std::to_string(s.stride) + ", padding " + std::to_string(s.padding) + ", groups " +
                    std::to_string(s.groups) + ")");
    desc.linear = false;
    desc.in_channels = s.in_channels;
    desc.out_channels = s.out_channels;
    desc.kernel = {s.kernel_size, s.kernel_size};
    desc.stride = {s.stride, s.stride};
    desc.padding = {s.padding, s.padding};
    desc.dilation = {1, 1};
    desc.groups = s.groups;
    // An undefined bias before reset() means "no bias"; a defined placeholder means "has one".
    if (s.bias) bias = at::empty({0});
    reset();
    reset_parameters();
}

ApproxConv2dImpl::ApproxConv2dImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
                                   std::int64_t stride, std::int64_t padding, std::int64_t groups, bool has_bias)
    : ApproxConv2dImpl(ConvSpec{in_channels, out_channels, kernel_size, stride, padding, groups, has_bias}) {}

void ApproxConv2dImpl::reset() {
    // Called again on a copy by clone(): `bias` then holds the original's tensor, so
    // "defined" still says whether to register one.
    weight = register_parameter(
        "weight", at::empty({desc.out_channels, desc.in_channels / desc.groups, desc.kernel[0], desc.kernel[1]}));
    if (bias.defined()) bias = register_parameter("bias", at::empty({desc.out_channels}));
}

void ApproxConv2dImpl::reset_parameters() { pytorch_default_init(weight, bias); }

void ApproxConv2dImpl::ensure_bias() {
    if (!bias.defined()) bias = register_parameter("bias", at::zeros({desc.out_channels}), weight.requires_grad());
}

void ApproxConv2dImpl::pretty_print(std::ostream& os) const { print_desc(os, "ApproxConv2d", desc, bias.defined()); }

ApproxLinearImpl::ApproxLinearImpl(std::int64_t in_features, std::int64_t out_features, bool has_bias) {
    if (in_features < 1 || out_features < 1)
        throw Error("ApproxLinear: impossible geometry (in " + std::to_string(in_features) + ", out " +
                    std::to_string(out_features) + ")");
    desc.linear = true;
    desc.in_channels = in_features;
    desc.out_channels = out_features;
    if (has_bias) bias = at::empty({0});
    reset();
    reset_parameters();
}

void ApproxLinearImpl::reset() {
    weight = register_parameter("weight", at::empty({desc.out_channels, desc.in_channels}));
    if (bias.defined()) bias = register_parameter("bias", at::empty({desc.out_channels}));
}

void ApproxLinearImpl::reset_parameters() { pytorch_default_init(weight, bias); }

void ApproxLinearImpl::ensure_bias() {
    if (!bias.defined()) bias = register_parameter("bias", at::zeros({desc.out_channels}), weight.requires_grad());
}

void ApproxLinearImpl::pretty_print(std::ostream& os) const { print_desc(os, "ApproxLinear", desc, bias.defined()); }

FoldableBatchNorm2dImpl::FoldableBatchNorm2dImpl(std::int64_t n, double eps_, double momentum_)
    : num_features(n), eps(eps_), momentum(momentum_) {
    if (n < 1) throw Error("BatchNorm2d: num_features must be >= 1, got " + std::to_string(n));
    reset();
}

void FoldableBatchNorm2dImpl::reset() {
    weight = register_parameter("weight", at::ones({num_features}));
    bias = register_parameter("bias", at::zeros({num_features}));
    running_mean = register_buffer("running_mean", at::zeros({num_features}));
    running_var = register_buffer("running_var", at::ones({num_features}));
    num_batches_tracked = register_buffer("num_batches_tracked", at::zeros({}, at::kLong));
}

at::Tensor FoldableBatchNorm2dImpl::forward(const at::Tensor& x) {
    if (folded_) return x;
    if (is_training()) {
        torch::NoGradGuard no_grad;
        num_batches_tracked.add_(1);
    }
    return at::batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum, eps,
                          /*cudnn_enabled=*/false);
}

void FoldableBatchNorm2dImpl::fold() {
    torch::NoGradGuard no_grad;
    weight.fill_(1);
    bias.zero_();
    running_mean.zero_();
    running_var.fill_(1);
    folded_ = true;
}

void FoldableBatchNorm2dImpl::pretty_print(std::ostream& os) const {
    os << "hawx::zoo::BatchNorm2d(" << num_features << ", eps=" << eps << ", momentum=" << momentum
       << (folded_ ? ", folded" : "") << ")";
}

}  // namespace hawx::zoo
