#pragma once
/// \file
/// `truncated_add`: the k low bits of both operands' patterns are set to 0 before an exact
/// add (the k low result bits are therefore 0). Clearing low bits of a two's-complement
/// pattern rounds toward minus infinity, so the error is -(a mod 2^k) - (b mod 2^k) <= 0;
/// over uniformly distributed operands the bias is -(2^k - 1) (signed: for k < bits).
/// With k = bits the result is always 0 (signed too: the sign bit is cleared as well).
///
/// Params: signed, bits (2..32), overflow, k (0..bits, default 4), plus the cost parameters.
#include <hawx/sdk/component.hpp>

#include "hawx/blocks/adders.hpp"

namespace hawx::blocks {

class TruncatedAdd final : public AdderBlock<TruncatedAdd> {
public:
    static ComponentInfo describe();
    explicit TruncatedAdd(const Params& params);
    std::uint64_t raw(std::uint64_t a, std::uint64_t b) const {
        if (k_ >= bits_) return 0;
        const std::uint64_t keep = ~((std::uint64_t{1} << k_) - 1u);
        return (a & keep) + (b & keep);
    }
    // k >= bits: every result is 0, no split.
    AdderSplit adder_split() const override { return k_ < bits_ ? split(SplitRule::Zero, k_) : AdderSplit{}; }

private:
    int k_;
};

}  // namespace hawx::blocks
