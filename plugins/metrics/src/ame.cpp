#include "hawx/metrics/ame.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "hawx/metrics/operand_error.hpp"

namespace hawx::metrics {

ComponentInfo Ame::describe() {
    ComponentInfo info;
    info.name = "ame";
    info.kind = Kind::Metric;
    info.version = "1.0";
    info.summary = "block error mean and variance under the unit's operand distribution, accumulated over the fan-in (no gradients)";
    return info;
}

Ame::Ame(const Params&) {}

double Ame::score(const ApproxBlock& block, const std::vector<std::int32_t>& table, const UnitProfile& unit) const {
    check_arguments("ame", block, table, unit, false);
    if (unit.fan_in < 1) throw Error("metric ame: fan_in must be >= 1, got " + std::to_string(unit.fan_in));
    double c = 0, s1 = 0, s2 = 0;
    for (std::size_t i = 0; i < unit.support_size; ++i) {
        const std::uint32_t idx = unit.support[i];
        const double e = product_error(table, idx, unit.activation_bits, unit.weight_bits, unit.is_signed);
        c += unit.counts[idx];
        s1 += unit.counts[idx] * e;
        s2 += unit.counts[idx] * e * e;
    }
    if (c <= 0) return 0.0;
    const double mu = s1 / c, var = std::max(0.0, s2 / c - mu * mu);
    const double n = static_cast<double>(unit.fan_in);
    return std::sqrt(n * var + n * n * mu * mu) * unit.output_scale / n;
}

}  // namespace hawx::metrics
