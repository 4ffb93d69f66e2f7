#pragma once
/// \file
/// `exact_add`: exact adder of two bits-wide operands (2..32 bits); with overflow `carry`
/// the result has bits+1 bits (unsigned, or two's complement when signed), see adders.hpp
/// for `wrap` and `saturate`. Cost: ripple-carry adder under the unit-gate model (adder
/// figures are meaningful only as ratios to this exact adder). Promises exactness only with
/// overflow `carry` (a wrapping or saturating register differs from the sum on overflow).
#include <hawx/sdk/component.hpp>

#include "hawx/blocks/adders.hpp"

namespace hawx::blocks {

class ExactAdd final : public AdderBlock<ExactAdd> {
public:
    static ComponentInfo describe();
    explicit ExactAdd(const Params& params);
    std::uint64_t raw(std::uint64_t a, std::uint64_t b) const { return a + b; }
    bool promises_exact() const override { return overflow_ == Overflow::Carry; }
    AdderSplit adder_split() const override { return split(SplitRule::Zero, 0); }
};

}  // namespace hawx::blocks
