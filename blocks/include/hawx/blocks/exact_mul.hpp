#pragma once
/// \file
/// `exact_mul`: the exact bits x bits multiplier (the baseline every approximation is
/// compared with). Cost: the unit-gate estimate of the full partial-product array
/// (Baugh-Wooley when signed); the signed 8x8 instance is the reference design, so its
/// default figures are exactly mul8s_1KV6's published 0.425 mW and 729.8 um^2.
#include <hawx/sdk/component.hpp>

#include "hawx/blocks/common.hpp"

namespace hawx::blocks {

class ExactMul final : public ArithmeticBlock<ExactMul> {
public:
    static ComponentInfo describe();
    explicit ExactMul(const Params& params);
    std::int32_t compute(std::int32_t a, std::int32_t w) const { return a * w; }
    bool promises_exact() const override { return true; }
};

}  // namespace hawx::blocks
