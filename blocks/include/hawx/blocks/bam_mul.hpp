#pragma once
/// \file
/// `bam_mul`: broken-array multiplier (Mahdiani, Ahmadi, Fakhraie, Lucas, IEEE TCAS-I 2010).
///
/// The partial-product array of truncated_mul (unsigned, or Baugh-Wooley when signed, see
/// pp_array.hpp) with two break lines: the horizontal break level `hbl` removes every row
/// j < hbl, rows being indexed by the WEIGHT bit j (all cells of w_j, including the
/// complemented Baugh-Wooley cells of that row); the vertical break level `vbl` removes
/// every cell with i + j < vbl. Constants stay. BAM(hbl = 0, vbl = k) is truncated_mul(k).
///
/// Because rows follow the weight, the block is not commutative when hbl > 0:
/// apply(activation, weight) != apply(weight, activation) in general.
///
/// Params: signed, bits, hbl (0..8, <= bits), vbl (0..16, <= 2*bits), plus the cost parameters.
#include <hawx/sdk/component.hpp>

#include "hawx/blocks/common.hpp"
#include "hawx/blocks/pp_array.hpp"

namespace hawx::blocks {

class BamMul final : public ArithmeticBlock<BamMul> {
public:
    static ComponentInfo describe();
    explicit BamMul(const Params& params);
    std::int32_t compute(std::int32_t a, std::int32_t w) const { return array_.multiply(a, w); }

private:
    int hbl_, vbl_;
    PartialProductArray array_;
};

}  // namespace hawx::blocks
