#pragma once
/// \file
/// `ame`: an architectural error estimate in the spirit of the Architectural Mean Error of
/// Liu, Han, Wang, Mao, Jiang, "An architectural error metric for CNN-oriented approximate
/// multipliers" (arXiv:2408.12836): the block's error statistics under the operand
/// distribution the unit actually sees, propagated through the accumulation of the layer's
/// fan-in. No gradients.
///
/// With e_i = T_b[i] - a_i * w_i and c_i = counts[i] (C = sum c_i):
///     mu = sum c_i e_i / C,  var = sum c_i e_i^2 / C - mu^2
/// An output element sums n = fan_in products; taking their errors as independent draws from
/// that distribution, the output error has mean n*mu and variance n*var, so its RMS is
///     rms_out = sqrt(n * var + (n * mu)^2) * output_scale
/// (a biased block grows like n, an unbiased one like sqrt(n)). Each of the n products is
/// charged an equal share: score = rms_out / n, so a unit's sum (score x operations) is the
/// sum over its output elements of their expected RMS output error, in output units.
#include <hawx/sdk/component.hpp>
#include <hawx/sdk/metric.hpp>

namespace hawx::metrics {

class Ame final : public SensitivityMetric {
public:
    static ComponentInfo describe();
    explicit Ame(const Params& params);
    bool needs_gradients() const override { return false; }
    double score(const ApproxBlock& block, const std::vector<std::int32_t>& table,
                 const UnitProfile& unit) const override;
};

}  // namespace hawx::metrics
