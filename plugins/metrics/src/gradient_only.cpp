#include "hawx/metrics/gradient_only.hpp"

#include "hawx/metrics/operand_error.hpp"

namespace hawx::metrics {

ComponentInfo GradientOnly::describe() {
    ComponentInfo info;
    info.name = "gradient-only";
    info.kind = Kind::Metric;
    info.version = "1.0";
    info.summary = "baseline: mean |dL/do| over the unit's multiplications, the same for every block";
    return info;
}

GradientOnly::GradientOnly(const Params&) {}

double GradientOnly::score(const ApproxBlock& block, const std::vector<std::int32_t>& table,
                           const UnitProfile& unit) const {
    check_arguments("gradient-only", block, table, unit, true);
    if (unit.operations == 0) return 0.0;
    double s = 0;
    for (std::size_t i = 0; i < unit.support_size; ++i) s += unit.grad_weighted[unit.support[i]];
    return s / static_cast<double>(unit.operations);
}

}  // namespace hawx::metrics
