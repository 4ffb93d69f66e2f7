#pragma once
/// \file
/// `eta_add`: error-tolerant adder type I (ETA-I; Zhu, Goh, Wang, Yeo, Zhang, IEEE TVLSI
/// 2010). The upper part (bits >= k) is an exact adder without carry-in; the k low bits
/// are computed from the most significant low bit down: a bit whose operand bits differ or
/// are both 0 gets a_i XOR b_i; at the first bit where both are 1, that bit and every lower
/// result bit are set to 1. Computed on the (bits+1)-bit patterns (adders.hpp).
/// Example (unsigned 8-bit, k = 4): 0x1B + 0x0E: low 1011 and 1110, bit 3 is 1 in both, so
/// the low result bits are 1111; upper 0001 + 0000 = 0001 -> 0x1F = 31 (exact 41).
///
/// Params: signed, bits (2..32), overflow, k (0..bits, default 4), plus the cost parameters.
#include <hawx/sdk/component.hpp>

#include "hawx/blocks/adders.hpp"

namespace hawx::blocks {

class EtaAdd final : public AdderBlock<EtaAdd> {
public:
    static ComponentInfo describe();
    explicit EtaAdd(const Params& params);
    std::uint64_t raw(std::uint64_t a, std::uint64_t b) const {
        if (k_ == 0) return a + b;
        const std::uint64_t lm = (std::uint64_t{1} << k_) - 1u;
        std::uint64_t m = a & b & lm;  // smeared down from its leading one: ones at and below it
        m |= m >> 1, m |= m >> 2, m |= m >> 4, m |= m >> 8, m |= m >> 16, m |= m >> 32;
        return (((a >> k_) + (b >> k_)) << k_) | ((a ^ b) & lm) | m;
    }
    // k = 0 is the exact adder; k = bits leaves no upper part to split off (emulated).
    AdderSplit adder_split() const override {
        return k_ == 0 ? split(SplitRule::Zero, 0) : k_ < bits_ ? split(SplitRule::Eta, k_) : AdderSplit{};
    }

private:
    int k_;
};

}  // namespace hawx::blocks
