#pragma once
// Layer geometries, random operands and the bit-exactness check shared by the engine's
// kernel tests (layer_kernel_test, mac_test).
#include <gtest/gtest.h>

#include <hawx/engine/layer_kernel.hpp>
#include <hawx/engine/quant.hpp>

#include <random>
#include <string>
#include <vector>

namespace hawx::test {

using namespace hawx::engine;

struct Case {
    std::string name;
    LayerDesc desc;
    std::int64_t h = 1, w = 1;
};

inline LayerDesc conv(std::int64_t cin, std::int64_t cout, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d,
               std::int64_t groups) {
    LayerDesc l;
    l.index = 1;
    l.in_channels = cin;
    l.out_channels = cout;
    l.kernel = {k, k};
    l.stride = {s, s};
    l.padding = {p, p};
    l.dilation = {d, d};
    l.groups = groups;
    return l;
}
inline LayerDesc linear(std::int64_t in, std::int64_t out) {
    LayerDesc l;
    l.index = 1;
    l.linear = true;
    l.in_channels = in;
    l.out_channels = out;
    return l;
}

inline std::vector<Case> cases() {
    return {{"conv3x3_pad1", conv(3, 8, 3, 1, 1, 1, 1), 7, 6},
            {"conv5x5_stride2_pad2", conv(4, 6, 5, 2, 2, 1, 1), 9, 9},
            {"conv3x3_dilation2", conv(4, 4, 3, 1, 2, 2, 1), 8, 7},
            {"depthwise3x3", conv(6, 6, 3, 1, 1, 1, 6), 6, 6},
            {"grouped2", conv(4, 6, 3, 1, 0, 1, 2), 6, 5},
            {"linear", linear(37, 11), 1, 1}};
}

inline at::Tensor random_codes(const Case& c, std::int64_t n, std::uint32_t seed) {
    at::manual_seed(seed);
    if (c.desc.linear) return at::randint(0, 256, {n, c.desc.in_channels}, at::kByte);
    return at::randint(0, 256, {n, c.desc.in_channels, c.h, c.w}, at::kByte);
}

inline WeightQuant random_weights(const LayerDesc& l, bool is_signed, std::uint32_t seed) {
    at::manual_seed(seed);
    at::Tensor w = l.linear ? at::randn({l.out_channels, l.in_channels})
                            : at::randn({l.out_channels, l.in_channels / l.groups, l.kernel[0], l.kernel[1]});
    // Skewed weights so unsigned zero points differ per filter.
    if (!is_signed) w = w + at::linspace(-1.0, 1.0, l.out_channels).view(l.linear ? at::IntArrayRef{-1, 1} : at::IntArrayRef{-1, 1, 1, 1});
    return quantize_weights(w, is_signed, "test");
}

inline LayerAssignment assignment(const LayerDesc& l, Granularity g, const std::vector<int>& pool, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<std::size_t> d(0, pool.size() - 1);
    LayerAssignment a;
    a.granularity = g;
    const std::int64_t n = g == Granularity::Layer ? 1 : g == Granularity::Filter ? l.out_channels : l.out_channels * l.fan_in();
    for (std::int64_t i = 0; i < n; ++i) a.units.push_back(pool[d(rng)]);
    return a;
}

inline void expect_exact(const LayerDesc& l, const WeightQuant& wq, std::int32_t za, const BlockLibrary& lib,
                  const LayerAssignment& a, KernelPath path, const at::Tensor& codes, const std::string& what) {
    const at::Tensor ref = reference_accumulate(l, wq, za, lib, a, codes);
    const LayerKernel kernel(l, wq, za, lib, a, path);
    const at::Tensor got = kernel.accumulate(codes);
    // The fused route (float input quantized inside the kernel) must give the same integers:
    // dequantized codes quantize back to themselves.
    ActQuant q = make_act_quant(wq.is_signed, wq.is_signed ? -128.0f : -za * 1.0f, wq.is_signed ? 127.0f : 255.0f - za);
    ASSERT_EQ(q.zero, za);
    q.qmin = wq.is_signed ? -128 : 0;  // the random codes span the whole range
    q.qmax = wq.is_signed ? 127 : 255;
    const at::Tensor values = (wq.is_signed ? codes.to(at::kChar) : codes).to(at::kFloat) - static_cast<float>(za);
    const at::Tensor fused = kernel.accumulate(values * q.scale, q);
    ASSERT_TRUE(at::equal(fused, got)) << what << ": fused float route differs";
    ASSERT_EQ(got.sizes(), ref.sizes()) << what;
    // Integer-valued: the conversion to int64 is exact, so equality is bit-exactness.
    ASSERT_TRUE(at::equal(got.round(), got)) << what << ": non-integer accumulator";
    const at::Tensor diff = (got.to(at::kLong) - ref).abs();
    EXPECT_EQ(diff.max().item<std::int64_t>(), 0) << what << "\n" << kernel.describe();
}

}  // namespace hawx::test
