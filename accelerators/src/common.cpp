#include "hawx/accelerators/common.hpp"

#include <cmath>
#include <sstream>

namespace hawx::accelerators {

namespace {
double exact_figure(double v, const char* what) {
    if (!(v > 0)) throw Error(std::string("accelerator report: no exact-design ") + what + " to normalize against");
    return v;
}
}  // namespace

double normalized_power(const AcceleratorReport& r) { return r.power_mw / exact_figure(r.exact_power_mw, "power"); }
double normalized_area(const AcceleratorReport& r) { return r.area_um2 / exact_figure(r.exact_area_um2, "area"); }

std::string layer_label(const std::vector<LayerShape>& layers, std::size_t l) {
    std::string s = "layer " + std::to_string(l + 1);
    if (l < layers.size() && !layers[l].name.empty()) s += " (" + layers[l].name + ")";
    return s;
}

std::string layer_key(const std::vector<LayerShape>& layers, std::size_t l) {
    if (!layers[l].name.empty()) return layers[l].name;
    return "layer" + std::to_string(l + 1);
}


void check_inputs(const std::string& component, const std::vector<LayerShape>& layers, const Configuration& c,
                  const std::vector<std::string>& names, const std::vector<HardwareCost>& costs) {
    const std::string p = component + ": ";
    if (layers.empty()) throw Error(p + "the network has no approximable layers");
    if (names.size() != costs.size())
        throw Error(p + std::to_string(names.size()) + " block names but " + std::to_string(costs.size()) +
                    " block costs");
    if (names.empty()) throw Error(p + "no blocks given");
    for (std::size_t b = 0; b < costs.size(); ++b)
        if (!(costs[b].power_mw >= 0) || !(costs[b].area_um2 >= 0))
            throw Error(p + "block " + names[b] + " has a negative or undefined power or area");
    for (std::size_t l = 0; l < layers.size(); ++l) {
        const auto& s = layers[l];
        if (s.out_channels < 1 || s.fan_in < 1 || s.output_positions < 1)
            throw Error(p + layer_label(layers, l) + ": out_channels, fan_in and output_positions must be positive");
    }
    if (c.blocks.size() != layers.size())
        throw Error(p + "the configuration covers " + std::to_string(c.blocks.size()) + " layers, the network has " +
                    std::to_string(layers.size()));
    for (std::size_t l = 0; l < layers.size(); ++l) {
        const auto want = unit_count(layers[l], c.granularity);
        if (static_cast<std::int64_t>(c.blocks[l].size()) != want)
            throw Error(p + layer_label(layers, l) + ": " + to_string(c.granularity) + "-level configuration needs " +
                        std::to_string(want) + " entries, got " + std::to_string(c.blocks[l].size()));
        for (int b : c.blocks[l])
            if (b < 0 || b >= static_cast<int>(names.size()))
                throw Error(p + layer_label(layers, l) + ": block index " + std::to_string(b) + " is not one of the " +
                            std::to_string(names.size()) + " blocks");
    }
}

bool more_expensive(int a, int b, const std::vector<HardwareCost>& costs) {
    const auto& ca = costs[static_cast<std::size_t>(a)];
    const auto& cb = costs[static_cast<std::size_t>(b)];
    if (ca.power_mw != cb.power_mw) return ca.power_mw > cb.power_mw;
    if (ca.area_um2 != cb.area_um2) return ca.area_um2 > cb.area_um2;
    return a < b;
}

int majority(const std::map<int, std::int64_t>& votes, const std::vector<HardwareCost>& costs) {
    int best = -1;
    std::int64_t n = -1;
    for (const auto& [b, v] : votes) {
        if (v > n || (v == n && more_expensive(b, best, costs))) {
            best = b;
            n = v;
        }
    }
    return best;
}

int exact_block(const std::string& component, const std::string& exact, const std::vector<std::string>& names,
                const std::vector<HardwareCost>& costs) {
    if (!exact.empty()) {
        for (std::size_t i = 0; i < names.size(); ++i)
            if (names[i] == exact) return static_cast<int>(i);
        std::string all;
        for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
        throw Error(component + ": exact block '" + exact + "' is not among the experiment's blocks (" + all + ")");
    }
    int best = 0;
    for (int i = 1; i < static_cast<int>(costs.size()); ++i)
        if (more_expensive(i, best, costs)) best = i;
    return best;
}

Configuration uniform(std::size_t layers, int b) {
    Configuration c;
    c.granularity = Granularity::Layer;
    c.blocks.assign(layers, std::vector<int>{b});
    return c;
}

double energy_per_op_pj(const std::string& component, const std::string& name, const HardwareCost& cost) {
    if (cost.energy_pj) return *cost.energy_pj;
    if (cost.delay_ns > 0) return cost.power_mw * cost.delay_ns;  // mW * ns = pJ
    throw Error(component + ": block " + name +
                " has neither energy per operation nor delay, needed by power_model = \"activity\"");
}

std::vector<std::int64_t> parse_int_list(const std::string& component, const std::string& key,
                                         const std::string& text, std::size_t layers) {
    std::vector<std::int64_t> v;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        std::size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
        const std::string t = a == std::string::npos ? "" : item.substr(a, b - a + 1);
        std::size_t used = 0;
        long long x = 0;
        try {
            x = std::stoll(t, &used);
        } catch (...) {
            used = 0;
        }
        if (t.empty() || used != t.size() || x < 1)
            throw Error(component + ": '" + key + "' must be positive integers separated by commas, got \"" + text +
                        "\"");
        v.push_back(x);
    }
    if (v.size() == 1) return std::vector<std::int64_t>(layers, v[0]);
    if (v.size() != layers)
        throw Error(component + ": '" + key + "' lists " + std::to_string(v.size()) + " values but the network has " +
                    std::to_string(layers) + " layers (give one value or one per layer)");
    return v;
}

ParamSpec power_model_param() {
    return ParamSpec::string("power_model",
                             "instances: sum of physical multiplier instances x block power; activity: operations "
                             "executed x energy per operation / inference time (needs block energy or delay)")
        .with_default("instances")
        .one_of({"instances", "activity"});
}
ParamSpec clock_param() {
    return ParamSpec::real("clock_mhz", "clock frequency in MHz (inference time, activity power, target_fps)")
        .with_default(100.0)
        .in_range(1e-3, 1e5);
}
ParamSpec exact_param() {
    return ParamSpec::string("exact",
                             "short name of the exact block that normalized figures refer to; empty: the block with "
                             "the highest power (then area)")
        .with_default("");
}

}  // namespace hawx::accelerators

namespace hawx::accelerators {

void fill_costs(AcceleratorReport& r, const std::string& component, const std::vector<GroupUse>& groups,
                double interval_cycles, double clock_mhz, bool activity, const std::vector<std::string>& names,
                const std::vector<HardwareCost>& costs) {
    const double t_ns = interval_cycles * 1000.0 / clock_mhz;
    if (activity && !(t_ns > 0)) throw Error(component + ": power_model = \"activity\" needs a positive inference time");
    r.power_mw = r.area_um2 = 0;
    r.per_group_power_mw.clear();
    r.per_group_area_um2.clear();
    r.per_block_power_mw.clear();
    r.per_block_area_um2.clear();
    for (const auto& g : groups) {
        double p = g.logic_power_mw, a = g.logic_area_um2;
        for (const auto& [b, n] : g.instances) {
            const auto& c = costs[static_cast<std::size_t>(b)];
            a += static_cast<double>(n) * c.area_um2;
            r.per_block_area_um2[names[static_cast<std::size_t>(b)]] += static_cast<double>(n) * c.area_um2;
            if (!activity) {
                p += static_cast<double>(n) * c.power_mw;
                r.per_block_power_mw[names[static_cast<std::size_t>(b)]] += static_cast<double>(n) * c.power_mw;
            }
        }
        if (activity)
            for (const auto& [b, ops] : g.operations) {
                const double e = energy_per_op_pj(component, names[static_cast<std::size_t>(b)],
                                                  costs[static_cast<std::size_t>(b)]);
                const double pb = static_cast<double>(ops) * e / t_ns;  // pJ / ns = mW
                p += pb;
                r.per_block_power_mw[names[static_cast<std::size_t>(b)]] += pb;
            }
        r.per_group_power_mw[g.key] += p;
        r.per_group_area_um2[g.key] += a;
        r.power_mw += p;
        r.area_um2 += a;
    }
    r.energy_nj = r.power_mw * t_ns / 1000.0;  // mW * ns = pJ
}

}  // namespace hawx::accelerators
