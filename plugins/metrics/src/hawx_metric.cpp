#include "hawx/metrics/hawx_metric.hpp"

#include <cmath>

#include "hawx/metrics/operand_error.hpp"

namespace hawx::metrics {

ComponentInfo HawxMetric::describe() {
    ComponentInfo info;
    info.name = "hawx";
    info.kind = Kind::Metric;
    info.version = "1.0";
    info.summary = "mean over the unit's multiplications of |dL/do| * |block error| in output units (HAWX paper)";
    return info;
}

HawxMetric::HawxMetric(const Params&) {}

double HawxMetric::score(const ApproxBlock& block, const std::vector<std::int32_t>& table,
                         const UnitProfile& unit) const {
    check_arguments("hawx", block, table, unit, true);
    if (unit.operations == 0) return 0.0;
    double s = 0;
    for (std::size_t i = 0; i < unit.support_size; ++i) {
        const std::uint32_t idx = unit.support[i];
        s += unit.grad_weighted[idx] *
             std::fabs(product_error(table, idx, unit.activation_bits, unit.weight_bits, unit.is_signed));
    }
    return s * unit.output_scale / static_cast<double>(unit.operations);
}

}  // namespace hawx::metrics
