#pragma once
/// \file
/// `loa_add`: lower-part OR adder (Mahdiani, Ahmadi, Fakhraie, Lucas, IEEE TCAS-I 2010).
///
/// The k low result bits are a_i OR b_i; the upper part is the exact sum of the operands'
/// upper bits (i >= k) with carry-in a_{k-1} AND b_{k-1} (no carry-in when k = 0, which
/// makes the block exact). Computed on the (bits+1)-bit patterns (adders.hpp), so signed
/// operands are sign-extended first and the result read as two's complement.
/// Example (unsigned 8-bit, k = 4): 0x1B + 0x0E: low 1011 | 1110 = 1111, carry-in
/// a_3 & b_3 = 1, upper 0001 + 0000 + 1 = 0010 -> 0x2F = 47 (exact 41).
///
/// Params: signed, bits (2..32), overflow, k (0..bits, default 4), plus the cost parameters.
#include <hawx/sdk/component.hpp>

#include "hawx/blocks/adders.hpp"

namespace hawx::blocks {

class LoaAdd final : public AdderBlock<LoaAdd> {
public:
    static ComponentInfo describe();
    explicit LoaAdd(const Params& params);
    std::uint64_t raw(std::uint64_t a, std::uint64_t b) const {
        if (k_ == 0) return a + b;
        const std::uint64_t low = (a | b) & ((std::uint64_t{1} << k_) - 1u);
        const std::uint64_t carry = (a >> (k_ - 1)) & (b >> (k_ - 1)) & 1u;
        return (((a >> k_) + (b >> k_) + carry) << k_) | low;
    }
    // k = 0 is the exact adder; k = bits leaves no upper part to split off (emulated).
    AdderSplit adder_split() const override {
        return k_ == 0 ? split(SplitRule::Zero, 0) : k_ < bits_ ? split(SplitRule::Or, k_) : AdderSplit{};
    }

private:
    int k_;
};

}  // namespace hawx::blocks
