#include "hawx/accelerators/algorithm1.hpp"

#include <algorithm>

namespace hawx::accelerators {

namespace {
const char* kName = "algorithm1";
}

ComponentInfo Algorithm1::describe() {
    return {kName, Kind::Accelerator, "1.0",
            "the paper's Algorithm 1: count of each block per layer or group x its base power and area",
            {ParamSpec::string("count", "units: one per configuration unit (layer, filter or weight position); "
                                        "weights: one per weight (a fully parallel layer, the SDK's configuration_cost "
                                        "and the pipeline's cost without accelerators); operations: multiplications "
                                        "executed per inference")
                 .with_default("units")
                 .one_of({"units", "weights", "operations"}),
             ParamSpec::integer("compute_vectors", "0: spatial (cost per layer); N > 0: temporal, layers grouped "
                                                   "into N contiguous groups (cost per group)")
                 .with_default(0)
                 .in_range(0, 4096),
             exact_param()}};
}

Algorithm1::Algorithm1(const Params& p)
    : count_(p.get_string("count")),
      cvs_(p.get_int("compute_vectors")),
      exact_(p.get_string("exact")) {}

std::vector<GroupUse> Algorithm1::count(const std::vector<LayerShape>& layers, const Configuration& c) const {
    const std::size_t n = layers.size();
    const std::size_t groups = cvs_ == 0 ? n : std::min<std::size_t>(n, static_cast<std::size_t>(cvs_));
    std::vector<GroupUse> out(groups);
    for (std::size_t l = 0; l < n; ++l) {
        // Group g holds layers [g*n/G, (g+1)*n/G): sizes differ by at most one.
        const std::size_t g = cvs_ == 0 ? l : l * groups / n;
        auto& u = out[g];
        if (cvs_ == 0)
            u.key = layer_key(layers, l);
        else if (u.key.empty())
            u.key = "group " + std::to_string(g + 1);
        const auto& s = layers[l];
        const std::int64_t units = unit_count(s, c.granularity);
        // instances per unit; the integer quotients are exact (units divide the layer's weights)
        const std::int64_t per_unit = count_ == "operations" ? s.out_channels * s.fan_in * s.output_positions / units
                                      : count_ == "weights"  ? s.out_channels * s.fan_in / units
                                                             : 1;
        for (int b : c.blocks[l]) u.instances[b] += per_unit;
    }
    return out;
}

AcceleratorReport Algorithm1::evaluate(const std::vector<LayerShape>& layers, const Configuration& configuration,
                                       const std::vector<std::string>& names,
                                       const std::vector<HardwareCost>& costs) const {
    check_inputs(kName, layers, configuration, names, costs);
    AcceleratorReport r;
    // Interval 1 cycle at 1 MHz only keeps fill_costs' arithmetic defined; no timing is reported.
    fill_costs(r, kName, count(layers, configuration), 1, 1, false, names, costs);
    r.energy_nj = 0;

    const int e = exact_block(kName, exact_, names, costs);
    Configuration ex = configuration;
    for (auto& row : ex.blocks) std::fill(row.begin(), row.end(), e);
    AcceleratorReport rx;
    fill_costs(rx, kName, count(layers, ex), 1, 1, false, names, costs);
    r.exact_power_mw = rx.power_mw;
    r.exact_area_um2 = rx.area_um2;
    r.realized = configuration;
    return r;
}

}  // namespace hawx::accelerators
