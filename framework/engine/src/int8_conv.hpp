#pragma once
// Engine-internal: the separable path's integer kernel. A filter group's stacked terms
//     acc(f, p) = sum_t sum_k u_t(a_pk) v_t(w_fk)
// are computed as one u8 x s8 -> int32 product (AVX-512 VNNI) instead of a float32 conv over
// T times the input channels: four times the multiply throughput of float32 FMAs, a quarter
// of the memory, exact by integer arithmetic (no float32 reduction bound, no chunks).
//
// Each term's table is shifted by its minimum over the codes the activations can hold, so
// u'_t = u_t - umin_t is in [0, 255] (refused otherwise); umin_t * sum_k v_t(w_fk) returns as a
// per-filter constant. Padded positions hold the zero-point code, whose u_t is 0 (the
// separable path shifts every table so), i.e. u' = -umin_t: the kernel pads with that value.
// Weights must be integers in [-128, 127] and every |acc| must provably fit int32.
#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "geometry.hpp"

namespace hawx::engine::detail {

/// True when this CPU runs the VNNI kernel and HAWX_ENGINE_INT8 is not "0" (the switch
/// exists so the float path can be measured against it on the same machine).
bool int8_kernel_available();

class Int8Conv {
public:
    /// `weights` int32 [nf, T * Cg, kh, kw] (or [nf, T * K] for linear), stacked channel
    /// s = t * Cg + c as the separable path lays it out; `luts` T tables of 256 float
    /// values (already shifted so the zero-point code maps to 0); `allowed` the codes the
    /// activations can hold; `cst` the group's per-filter constants. nullptr when a value
    /// does not fit, for grouped convs, and for convs with fewer than 8 values per input
    /// pixel (terms x channels; the caller keeps the float path).
    static std::unique_ptr<Int8Conv> build(const Geometry& g, const at::Tensor& weights,
                                           const std::vector<const std::vector<float>*>& luts,
                                           const std::vector<bool>& allowed, const std::vector<std::int64_t>& cst);

    /// Accumulators plus constants of the group's filters for activation codes (uint8 NCHW,
    /// or [N, K] for linear): [N, nf, OH, OW] (or [N, nf]) of `dtype` (float when the
    /// caller's bound says every result is below 2^24, double otherwise).
    at::Tensor run(const at::Tensor& codes, std::int64_t N, std::int64_t H, std::int64_t W, std::int64_t OH,
                   std::int64_t OW, at::ScalarType dtype) const;

    /// u8 x s8 products per input value (terms, plus the extra digits of wide weights).
    std::int64_t parts() const { return T_; }

private:
    Geometry g_;
    std::int64_t T_ = 0, TC_ = 0, Kq_ = 0, K4_ = 0, nf_ = 0, fblocks_ = 0;
    std::vector<std::array<std::uint8_t, 256>> lut_;  // per term: u' by code
    std::vector<std::uint8_t> pad_;                    // per term: u' of a padded position
    std::vector<std::int8_t> packed_;                  // [fblocks][K4 / 4][32][4]
    std::vector<std::int64_t> cst_;                    // per filter, shifts folded in
};

}  // namespace hawx::engine::detail
