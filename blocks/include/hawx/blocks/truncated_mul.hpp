#pragma once
/// \file
/// `truncated_mul`: array multiplier whose k least significant partial-product columns
/// are removed.
///
/// Unsigned (n = bits): partial-product bit a_i & w_j sits at column i+j; only the bits with
/// i+j >= k are kept. Signed: the Baugh-Wooley array (see pp_array.hpp): a_i & w_j for
/// i, j < n-1; complemented ~(a_i & w_{n-1}) and ~(a_{n-1} & w_j) at column i+n-1 (resp.
/// n-1+j); a_{n-1} & w_{n-1} at 2n-2; constants 2^n and 2^(2n-1). Every partial-product
/// bit in a column < k is dropped, the constants stay, and the sum is taken modulo 2^(2n)
/// as a two's-complement value.
///
/// Error: approx - exact = -sum over dropped bits of 2^column * bit (<= 0 as long as the
/// output does not wrap, which needs large k). With uniformly distributed operands the
/// bias is -sum 2^c * P(bit = 1), P = 1/4 for a_i & w_j and 3/4 for a complemented bit.
///
/// Params: signed, bits, k (0..16; must be <= 2*bits), plus the cost parameters.
#include <hawx/sdk/component.hpp>

#include "hawx/blocks/common.hpp"
#include "hawx/blocks/pp_array.hpp"

namespace hawx::blocks {

class TruncatedMul final : public ArithmeticBlock<TruncatedMul> {
public:
    static ComponentInfo describe();
    explicit TruncatedMul(const Params& params);
    std::int32_t compute(std::int32_t a, std::int32_t w) const { return array_.multiply(a, w); }
    int k() const { return k_; }

private:
    int k_;
    PartialProductArray array_;
};

}  // namespace hawx::blocks
