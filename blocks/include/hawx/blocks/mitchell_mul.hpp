#pragma once
/// \file
/// `mitchell_mul`: Mitchell's logarithmic multiplier (J. N. Mitchell, 1962), exact integer
/// form.
///
/// For a, b > 0 with leading ones at k1, k2 (a = 2^k1 (1 + x1), b = 2^k2 (1 + x2)), Mitchell
/// approximates log2 by k + x and antilogs the sum:
///   S = (a - 2^k1) 2^k2 + (b - 2^k2) 2^k1          (= 2^(k1+k2) (x1 + x2), an integer)
///   result = 2^(k1+k2) + S   if S < 2^(k1+k2)       (x1 + x2 < 1)
///          = 2 S             otherwise             (x1 + x2 >= 1)
/// A zero operand gives 0. The result never exceeds the exact product; the largest
/// relative error is 1/9 (about 11.1%), at x1 = x2 = 1/2.
///
/// `frac_bits` = f truncates each operand's fraction x to f bits: the bits of a below
/// position k1 - f are cleared before the formula is applied (same for b); an operand
/// with k <= f is untouched. f = -1 (default) means bits - 1: no truncation.
///
/// Signed operands use sign-magnitude (|-128| = 128), the sign is restored on the result.
///
/// Cost model: per operand a conditional negation (signed), a leading-one detector and an
/// f-output normalizing barrel shifter; one adder of the (characteristic, fraction) words;
/// the antilog barrel shifter to 2*bits outputs; zero gating; the result negation (signed).
///
/// Params: signed, bits, frac_bits (-1..7, <= bits - 1), plus the cost parameters.
#include <hawx/sdk/component.hpp>

#include "hawx/blocks/common.hpp"

namespace hawx::blocks {

class MitchellMul final : public ArithmeticBlock<MitchellMul> {
public:
    static ComponentInfo describe();
    explicit MitchellMul(const Params& params);

    /// Mitchell's product of two magnitudes with fractions truncated to f bits.
    static std::uint32_t mitchell(std::uint32_t a, std::uint32_t b, int f) {
        if (a == 0 || b == 0) return 0;
        const int k1 = leading_one(a), k2 = leading_one(b);
        if (k1 > f) a &= ~((1u << (k1 - f)) - 1u);
        if (k2 > f) b &= ~((1u << (k2 - f)) - 1u);
        const std::uint32_t s = ((a - (1u << k1)) << k2) + ((b - (1u << k2)) << k1);
        const std::uint32_t one = 1u << (k1 + k2);
        return s < one ? one + s : 2 * s;
    }
    std::int32_t compute(std::int32_t a, std::int32_t w) const {
        const std::uint32_t ma = static_cast<std::uint32_t>(a < 0 ? -a : a);
        const std::uint32_t mw = static_cast<std::uint32_t>(w < 0 ? -w : w);
        const std::int32_t m = static_cast<std::int32_t>(mitchell(ma, mw, frac_bits_));
        return (a < 0) != (w < 0) ? -m : m;
    }
    int frac_bits() const { return frac_bits_; }

private:
    int frac_bits_;
};

}  // namespace hawx::blocks
