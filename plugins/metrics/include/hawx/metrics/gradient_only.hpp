#pragma once
/// \file
/// `gradient-only`: a baseline that ignores the block, the mean over the unit's
/// multiplications of |dL/do|:  sum_{i in support} grad_weighted[i] / operations.
/// Every block gets the same score in a unit, so it ranks units, never blocks (its
/// correlation with accuracy across blocks is undefined). No parameters.
#include <hawx/sdk/component.hpp>
#include <hawx/sdk/metric.hpp>

namespace hawx::metrics {

class GradientOnly final : public SensitivityMetric {
public:
    static ComponentInfo describe();
    explicit GradientOnly(const Params& params);
    bool needs_gradients() const override { return true; }
    double score(const ApproxBlock& block, const std::vector<std::int32_t>& table,
                 const UnitProfile& unit) const override;
};

}  // namespace hawx::metrics
