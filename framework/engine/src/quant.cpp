#include "hawx/engine/quant.hpp"

#include <hawx/sdk/error.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>

#include <tbb/parallel_for.h>

namespace hawx::engine {

ActQuant make_act_quant(bool is_signed, float lo, float hi) {
    ActQuant q;
    q.is_signed = is_signed;
    if (is_signed) {
        const float amax = std::max(std::fabs(lo), std::fabs(hi));
        q.scale = amax > 0 && std::isfinite(amax) ? amax / 127.0f : 1.0f;
        q.zero = 0;
        const float inv = 1.0f / q.scale;
        q.qmin = static_cast<std::int32_t>(std::clamp(std::nearbyint(std::min(lo, 0.0f) * inv), -128.0f, 0.0f));
        q.qmax = static_cast<std::int32_t>(std::clamp(std::nearbyint(std::max(hi, 0.0f) * inv), 0.0f, 127.0f));
    } else {
        lo = std::min(lo, 0.0f);
        hi = std::max(hi, 0.0f);
        const float range = hi - lo;
        q.scale = range > 0 && std::isfinite(range) ? range / 255.0f : 1.0f;
        q.zero = static_cast<std::int32_t>(std::clamp(std::nearbyint(-lo / q.scale), 0.0f, 255.0f));
        q.qmin = 0;
        q.qmax = 255;
    }
    q.inv_scale = 1.0f / q.scale;
    return q;
}

at::Tensor quantize_codes(const at::Tensor& x_in, const ActQuant& q, const char* what) {
    const at::Tensor x = x_in.to(at::kFloat).contiguous();
    at::Tensor out = at::empty(x.sizes(), x.options().dtype(at::kByte));
    const float* src = x.data_ptr<float>();
    std::uint8_t* dst = out.data_ptr<std::uint8_t>();
    const std::int64_t n = x.numel();
    std::atomic<bool> bad{false};
    // q copied into locals: stores through the uint8 destination may alias anything, which
    // made the compiler reload q every element and kept the loop scalar.
    const ActQuant qq = q;
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, 1 << 14), [&, qq](const tbb::blocked_range<std::int64_t>& r) {
        const ActQuant lq = qq;
        const std::int64_t b = r.begin(), e = r.end();
        const float* __restrict s = src;
        std::uint8_t* __restrict d = dst;
        int finite = 1;
        for (std::int64_t i = b; i < e; ++i) {
            // |x| <= FLT_MAX is false for NaN and +-Inf
            finite &= static_cast<int>(std::fabs(s[i]) <= 3.4028234663852886e38f);
            d[i] = quantize_one(s[i], lq);
        }
        if (!finite) bad = true;
    });
    if (bad) throw Error(std::string(what) + ": input holds NaN or Inf values");
    return out;
}

WeightQuant quantize_weights(const at::Tensor& weight, bool is_signed, const char* what) {
    const at::Tensor w = weight.detach().to(at::kFloat).contiguous();
    if (!at::isfinite(w).all().item<bool>()) throw Error(std::string(what) + ": weights hold NaN or Inf values");
    const std::int64_t F = w.size(0), K = w.numel() / std::max<std::int64_t>(F, 1);
    WeightQuant wq;
    wq.is_signed = is_signed;
    wq.scale.resize(F);
    wq.zero.resize(F);
    wq.codes = at::empty(w.sizes(), w.options().dtype(at::kByte));
    const float* src = w.data_ptr<float>();
    std::uint8_t* dst = wq.codes.data_ptr<std::uint8_t>();
    // Filters are independent: blocks of them in parallel (weights are quantized at every
    // fine-tuning step).
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, F, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(K, 1))),
                      [&](const tbb::blocked_range<std::int64_t>& fr) {
    for (std::int64_t f = fr.begin(); f < fr.end(); ++f) {
        const float* row = src + f * K;
        float lo = 0, hi = 0;
        for (std::int64_t k = 0; k < K; ++k) lo = std::min(lo, row[k]), hi = std::max(hi, row[k]);
        ActQuant q;
        if (is_signed) {
            const float amax = std::max(-lo, hi);
            q.scale = amax > 0 ? amax / 127.0f : 1.0f;
            q.is_signed = true;
            q.qmin = -127;  // symmetric weights
        } else {
            q = make_act_quant(false, lo, hi);
        }
        q.inv_scale = 1.0f / q.scale;
        wq.scale[f] = q.scale;
        wq.zero[f] = q.zero;
        for (std::int64_t k = 0; k < K; ++k) {
            dst[f * K + k] = quantize_one(row[k], q);
        }
    }
    });
    return wq;
}

}  // namespace hawx::engine
