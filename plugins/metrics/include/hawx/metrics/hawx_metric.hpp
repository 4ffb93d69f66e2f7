#pragma once
/// \file
/// `hawx`: the HAWX score (paper section II-A). For a unit U (weight position, filter, layer)
///     hawx(U, b) = s * sum_{i in support} G[i] * |T_b[i] - a_i * w_i| / |U|
/// where G[i] = grad_weighted[i] (sum over U's multiplications with operand codes i of the
/// mean |dL/do| over the representatives), s = output_scale and |U| = operations: the mean
/// over U's operations of |dL/do| * |delta out|, in loss units. No parameters.
#include <hawx/sdk/component.hpp>
#include <hawx/sdk/metric.hpp>

namespace hawx::metrics {

class HawxMetric final : public SensitivityMetric {
public:
    static ComponentInfo describe();
    explicit HawxMetric(const Params& params);
    bool needs_gradients() const override { return true; }
    double score(const ApproxBlock& block, const std::vector<std::int32_t>& table,
                 const UnitProfile& unit) const override;
};

}  // namespace hawx::metrics
