#pragma once
/// \file
/// `drum_mul`: DRUM(k), the dynamic range unbiased multiplier (Hashemi, Bahar, Reda,
/// ICCAD 2015).
///
/// Each operand magnitude x is reduced to k significant bits: if x < 2^k it is used
/// exactly; otherwise the k bits from its leading one downward are taken, the lowest of
/// them is forced to 1 (which makes the truncation error unbiased on average), and the
/// value is that k-bit number shifted back to the leading one's position. The two reduced
/// values are multiplied exactly. Example (unsigned 8-bit, k = 4): 200 = 11001000b ->
/// 1100 -> 1101 = 13, shifted by 4 -> 208; 200 x 3 -> 208 x 3 = 624.
///
/// Signed operands are handled in sign-magnitude form (|-128| = 128 is a valid 8-bit
/// magnitude) and the sign of the product is restored on the result. k >= bits makes the
/// block exact. The approximate magnitude can exceed the operand's (e.g. 128 -> 192 for
/// k = 2), so a signed configuration whose largest product does not fit the 2*bits-bit
/// signed output (signed 8-bit with k = 2) is rejected.
///
/// Cost model: per operand a conditional negation (signed), a leading-one detector, a
/// k-output barrel shifter and the forcing OR; a k x k exact array multiplier; an adder of
/// the two shift amounts; a 2*bits-output barrel shifter; the result negation (signed).
/// With k >= bits the cost is that of exact_mul.
///
/// Params: signed, bits, k (2..8, default 4), plus the cost parameters.
#include <hawx/sdk/component.hpp>

#include "hawx/blocks/common.hpp"

namespace hawx::blocks {

class DrumMul final : public ArithmeticBlock<DrumMul> {
public:
    static ComponentInfo describe();
    explicit DrumMul(const Params& params);

    /// The k-significant-bit approximation of magnitude x.
    static std::uint32_t reduce(std::uint32_t x, int k) {
        if (x < (1u << k)) return x;
        const int shift = leading_one(x) - k + 1;
        return ((x >> shift) | 1u) << shift;
    }
    std::int32_t compute(std::int32_t a, std::int32_t w) const {
        const std::uint32_t ma = static_cast<std::uint32_t>(a < 0 ? -a : a);
        const std::uint32_t mw = static_cast<std::uint32_t>(w < 0 ? -w : w);
        const std::int32_t m = static_cast<std::int32_t>(reduce(ma, k_) * reduce(mw, k_));
        return (a < 0) != (w < 0) ? -m : m;
    }

private:
    int k_;
};

}  // namespace hawx::blocks
