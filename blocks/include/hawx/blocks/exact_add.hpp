#pragma once
/// \file
/// `exact_add`: exact adder of two bits-wide operands; the result has bits+1 bits
/// (unsigned, or two's complement when signed). Cost: ripple-carry adder under the
/// unit-gate model (adder figures are meaningful only as ratios to this exact adder).
#include <hawx/sdk/component.hpp>

#include "hawx/blocks/common.hpp"

namespace hawx::blocks {

class ExactAdd final : public ArithmeticBlock<ExactAdd> {
public:
    static ComponentInfo describe();
    explicit ExactAdd(const Params& params);
    std::int32_t compute(std::int32_t a, std::int32_t b) const { return a + b; }
};

}  // namespace hawx::blocks
