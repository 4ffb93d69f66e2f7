#pragma once
/// \file
/// `loa_add`: lower-part OR adder (Mahdiani, Ahmadi, Fakhraie, Lucas, IEEE TCAS-I 2010).
///
/// The k low result bits are a_i OR b_i; the upper part is the exact sum of the operands'
/// upper bits (i >= k) with carry-in a_{k-1} AND b_{k-1} (no carry-in when k = 0, which
/// makes the block exact). The result has bits+1 bits. Signed: the operands' two's
/// complement patterns are sign-extended to bits+1 bits first, the same rule is applied
/// on bits+1 bits and the (bits+1)-bit result is read as two's complement.
/// Example (unsigned 8-bit, k = 4): 0x1B + 0x0E: low 1011 | 1110 = 1111, carry-in
/// a_3 & b_3 = 1, upper 0001 + 0000 + 1 = 0010 -> 0x2F = 47 (exact 41).
///
/// Params: signed, bits, k (0..8, <= bits, default 4), plus the cost parameters.
#include <hawx/sdk/component.hpp>

#include "hawx/blocks/common.hpp"

namespace hawx::blocks {

class LoaAdd final : public ArithmeticBlock<LoaAdd> {
public:
    static ComponentInfo describe();
    explicit LoaAdd(const Params& params);
    std::int32_t compute(std::int32_t a, std::int32_t b) const {
        const int width = bits_ + 1;  // result width; operands sign-extended to it when signed
        const std::uint32_t mask = (1u << width) - 1u;
        const std::uint32_t pa = static_cast<std::uint32_t>(a) & mask, pb = static_cast<std::uint32_t>(b) & mask;
        if (k_ == 0) return signed_ ? pattern_to_signed((pa + pb) & mask, width) : a + b;
        const std::uint32_t low_mask = (1u << k_) - 1u;
        const std::uint32_t low = (pa | pb) & low_mask;
        const std::uint32_t carry = (pa >> (k_ - 1)) & (pb >> (k_ - 1)) & 1u;
        const std::uint32_t high = ((pa >> k_) + (pb >> k_) + carry) << k_;
        const std::uint32_t r = (high | low) & mask;
        return signed_ ? pattern_to_signed(r, width) : static_cast<std::int32_t>(r);
    }

private:
    int k_;
};

}  // namespace hawx::blocks
