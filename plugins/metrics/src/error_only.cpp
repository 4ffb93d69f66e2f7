#include "hawx/metrics/error_only.hpp"

#include <cmath>

#include "hawx/metrics/operand_error.hpp"

namespace hawx::metrics {

namespace {
std::array<std::int32_t, 16> probe_of(const std::vector<std::int32_t>& t) {
    std::array<std::int32_t, 16> p{};
    const std::size_t stride = t.size() >= p.size() ? t.size() / p.size() : 1;
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = t[((i * t.size()) / p.size() + (i * 7919) % stride) % t.size()];
    return p;
}
}  // namespace

ComponentInfo ErrorOnly::describe() {
    ComponentInfo info;
    info.name = "error-only";
    info.kind = Kind::Metric;
    info.version = "1.0";
    info.summary = "baseline: the block's mean absolute error over all operand pairs, the same for every operation";
    info.params = {ParamSpec::boolean("scaled", "multiply by the unit's output scale (real-valued output units)")
                       .with_default(false)};
    return info;
}

ErrorOnly::ErrorOnly(const Params& params) : scaled_(params.get_bool("scaled")) {}

double ErrorOnly::mae(const ApproxBlock& block, const std::vector<std::int32_t>& table, const UnitProfile& unit) const {
    const auto probe = probe_of(table);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (const Cached& c : cache_)
            if (c.block == &block && c.data == table.data() && c.size == table.size() && c.probe == probe) return c.mae;
    }
    double s = 0;
    for (std::uint32_t i = 0; i < table.size(); ++i)
        s += std::fabs(product_error(table, i, unit.activation_bits, unit.weight_bits, unit.is_signed));
    const double m = s / static_cast<double>(table.size());
    std::lock_guard<std::mutex> lock(mutex_);
    cache_.push_back({&block, table.data(), table.size(), probe, m});
    return m;
}

double ErrorOnly::score(const ApproxBlock& block, const std::vector<std::int32_t>& table,
                        const UnitProfile& unit) const {
    check_arguments("error-only", block, table, unit, false);
    return scaled_ ? mae(block, table, unit) * unit.output_scale : mae(block, table, unit);
}

}  // namespace hawx::metrics
