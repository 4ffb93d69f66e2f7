#pragma once
/// \file
/// 8-bit post-training quantization as the engine does it.
///
/// Signed blocks (int8 x int8), symmetric:
///   activations per tensor: s_a = amax / 127, q = clamp(round(x / s_a), qmin, qmax), zero 0,
///   [qmin, qmax] = [min(0, round(lo / s_a)), max(0, round(hi / s_a))] within [-128, 127] (the
///   calibrated range: 0..127 after a ReLU);
///   weights per output channel: s_w = max|w_f| / 127, q = clamp(round(w / s_w), -127, 127).
/// Unsigned blocks (uint8 x uint8), asymmetric with zero points (the scheme of TensorFlow's
/// uint8 quantization, which TFApprox-style emulators follow):
///   activations per tensor: range [min(0, lo), max(0, hi)], s_a = range / 255,
///   z_a = clamp(round(-lo / s_a), 0, 255), q = clamp(round(x / s_a) + z_a, 0, 255)
///   (after a ReLU lo = 0, so z_a = 0 and the full code range carries the activation);
///   weights per output channel likewise with their own z_w.
/// The block multiplies the CODES: out = sum_k T[q_a][q_w] - z_w sum_k q_a - z_a sum_k q_w
/// + K z_a z_w (the zero-point corrections are exact integer arithmetic, as in hardware).
/// Rounding is round-half-to-even of x * (1 / s) in float32 (x times the float32 inverse scale). A code is the operand's bit
/// pattern (two's complement for signed), 0..255.
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace hawx::engine {

/// Per-tensor activation quantizer.
struct ActQuant {
    bool is_signed = true;
    float scale = 1.0f;
    float inv_scale = 1.0f;  ///< 1 / scale, as used by the rounding
    std::int32_t zero = 0;   ///< value-domain zero point (0 for signed)
    /// Codes are clamped to [qmin, qmax] (values; always containing the zero point): the
    /// calibrated range, so that e.g. after a ReLU signed codes are 0..127. The kernels use
    /// the range to bound their float32 reductions more tightly.
    std::int32_t qmin = -128, qmax = 127;
    std::uint32_t zero_code() const { return static_cast<std::uint32_t>(zero) & 0xFFu; }
};

/// How activation ranges are calibrated.
enum class CalibrationMethod { MinMax, Percentile };

/// Activation quantizer from an observed range. For Percentile the caller passes the
/// percentile values as lo/hi. Degenerate ranges give scale 1.
ActQuant make_act_quant(bool is_signed, float lo, float hi);

/// Codes of x (any shape, float32) as uint8. Throws hawx::Error naming `what` when x holds
/// NaN or Inf.
at::Tensor quantize_codes(const at::Tensor& x, const ActQuant& q, const char* what);
/// The code one value gets (the scalar definition every kernel follows). NaN maps to the
/// zero point; callers detect non-finite input separately and refuse it.
inline std::uint8_t quantize_one(float x, const ActQuant& q) {
    float y = x * q.inv_scale;
    // Clamp first (also sends +-Inf to the ends and NaN to 0): within +-4096 the result is
    // the same after the final clamp, and adding then subtracting 1.5 * 2^23 rounds half to
    // even exactly (round-to-nearest mode, |y| < 2^22), like nearbyint but vectorisable.
    y = y > -4096.0f ? (y < 4096.0f ? y : 4096.0f) : (y <= -4096.0f ? -4096.0f : 0.0f);
    float r = (y + 12582912.0f) - 12582912.0f;
    const float lo = static_cast<float>(q.qmin), hi = static_cast<float>(q.qmax);
    r += static_cast<float>(q.zero);
    r = r < lo ? lo : (r > hi ? hi : r);
    return static_cast<std::uint8_t>(static_cast<std::int32_t>(r) & 0xFF);
}

/// Per-output-channel weight quantization of a conv [F, C/g, kh, kw] or linear [F, K] weight.
struct WeightQuant {
    bool is_signed = true;
    at::Tensor codes;                 ///< uint8, same shape as the weight
    std::vector<float> scale;         ///< per filter
    std::vector<std::int32_t> zero;   ///< per filter, value domain (0 for signed)
};
WeightQuant quantize_weights(const at::Tensor& weight, bool is_signed, const char* what);

}  // namespace hawx::engine
