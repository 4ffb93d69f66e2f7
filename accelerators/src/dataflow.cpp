#include "hawx/accelerators/dataflow.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace hawx::accelerators {

namespace {
const char* kName = "dataflow";

std::vector<std::int64_t> divisors(std::int64_t n) {
    std::vector<std::int64_t> d;
    for (std::int64_t i = 1; i * i <= n; ++i)
        if (n % i == 0) {
            d.push_back(i);
            if (i != n / i) d.push_back(n / i);
        }
    std::sort(d.begin(), d.end());
    return d;
}

std::string fmt(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}
}  // namespace

ComponentInfo Dataflow::describe() {
    return {kName, Kind::Accelerator, "1.0",
            "FINN-style spatial dataflow: PE x SIMD multipliers per layer, filters regrouped by PE",
            {ParamSpec::string("folding", "explicit: use pe and simd; target_fps: derive the smallest folding "
                                          "that meets target_fps at clock_mhz")
                 .with_default("explicit")
                 .one_of({"explicit", "target_fps"}),
             ParamSpec::string("pe", "processing elements per layer: one value for all layers or a comma list "
                                     "(one per layer); must divide out_channels")
                 .with_default("1"),
             ParamSpec::string("simd", "SIMD lanes per PE: one value or a comma list (one per layer); must "
                                       "divide fan_in")
                 .with_default("1"),
             ParamSpec::real("target_fps", "inferences per second to reach when folding = target_fps")
                 .with_default(1000.0)
                 .in_range(1e-6, 1e12),
             clock_param(), power_model_param(), exact_param(),
             ParamSpec::real("pe_logic_power_mw", "non-multiplier power per PE (accumulator, control), mW")
                 .with_default(0.0)
                 .at_least(0),
             ParamSpec::real("pe_logic_area_um2", "non-multiplier area per PE, um2").with_default(0.0).at_least(0),
             ParamSpec::real("layer_logic_power_mw", "non-multiplier power per layer engine (buffers, "
                                                     "thresholds), mW")
                 .with_default(0.0)
                 .at_least(0),
             ParamSpec::real("layer_logic_area_um2", "non-multiplier area per layer engine, um2")
                 .with_default(0.0)
                 .at_least(0)}};
}

Dataflow::Dataflow(const Params& p)
    : from_fps_(p.get_string("folding") == "target_fps"),
      pe_(p.get_string("pe")),
      simd_(p.get_string("simd")),
      target_fps_(p.get_float("target_fps")),
      clock_mhz_(p.get_float("clock_mhz")),
      activity_(p.get_string("power_model") == "activity"),
      exact_(p.get_string("exact")),
      pe_logic_power_(p.get_float("pe_logic_power_mw")),
      pe_logic_area_(p.get_float("pe_logic_area_um2")),
      layer_logic_power_(p.get_float("layer_logic_power_mw")),
      layer_logic_area_(p.get_float("layer_logic_area_um2")) {}

std::vector<LayerFolding> Dataflow::fold(const std::vector<LayerShape>& layers) const {
    std::vector<LayerFolding> out(layers.size());
    if (!from_fps_) {
        const auto pe = parse_int_list(kName, "pe", pe_, layers.size());
        const auto simd = parse_int_list(kName, "simd", simd_, layers.size());
        for (std::size_t l = 0; l < layers.size(); ++l) {
            const auto& s = layers[l];
            if (s.out_channels % pe[l] != 0)
                throw Error(std::string(kName) + ": " + layer_label(layers, l) + ": out_channels " +
                            std::to_string(s.out_channels) + " is not divisible by pe " + std::to_string(pe[l]));
            if (s.fan_in % simd[l] != 0)
                throw Error(std::string(kName) + ": " + layer_label(layers, l) + ": fan_in " +
                            std::to_string(s.fan_in) + " is not divisible by simd " + std::to_string(simd[l]));
            out[l] = {pe[l], simd[l], (s.out_channels / pe[l]) * (s.fan_in / simd[l]) * s.output_positions};
        }
        return out;
    }
    const double budget = clock_mhz_ * 1e6 / target_fps_;
    for (std::size_t l = 0; l < layers.size(); ++l) {
        const auto& s = layers[l];
        LayerFolding best;
        std::int64_t best_n = std::numeric_limits<std::int64_t>::max();
        for (auto pe : divisors(s.out_channels))
            for (auto simd : divisors(s.fan_in)) {
                const std::int64_t cycles = (s.out_channels / pe) * (s.fan_in / simd) * s.output_positions;
                if (static_cast<double>(cycles) > budget) continue;
                const std::int64_t n = pe * simd;
                if (n < best_n || (n == best_n && pe < best.pe)) {
                    best = {pe, simd, cycles};
                    best_n = n;
                }
            }
        if (best_n == std::numeric_limits<std::int64_t>::max())
            throw Error(std::string(kName) + ": " + layer_label(layers, l) + ": cannot reach target_fps " +
                        fmt(target_fps_) + " at clock_mhz " + fmt(clock_mhz_) + ": even fully unfolded it needs " +
                        std::to_string(s.output_positions) + " cycles, the budget is " + fmt(std::floor(budget)));
        out[l] = best;
    }
    return out;
}

DataflowPlan Dataflow::plan(const std::vector<LayerShape>& layers, const Configuration& c,
                            const std::vector<std::string>& names, const std::vector<HardwareCost>& costs) const {
    check_inputs(kName, layers, c, names, costs);
    DataflowPlan plan;
    plan.folding = fold(layers);
    plan.realized = c;
    for (std::size_t l = 0; l < layers.size(); ++l) {
        const auto& s = layers[l];
        const auto [PE, SIMD, cycles] = plan.folding[l];
        plan.interval_cycles = std::max(plan.interval_cycles, cycles);
        plan.fill_cycles += cycles;
        GroupUse use;
        use.key = layer_key(layers, l);
        use.logic_power_mw = layer_logic_power_ + static_cast<double>(PE) * pe_logic_power_;
        use.logic_area_um2 = layer_logic_area_ + static_cast<double>(PE) * pe_logic_area_;
        auto& row = plan.realized.blocks[l];
        if (c.granularity == Granularity::Layer) {
            use.instances[row[0]] += PE * SIMD;
            use.operations[row[0]] += s.out_channels * s.fan_in * s.output_positions;
        } else if (c.granularity == Granularity::Filter) {
            for (std::int64_t pe = 0; pe < PE; ++pe) {
                std::map<int, std::int64_t> votes;
                for (std::int64_t f = pe; f < s.out_channels; f += PE) ++votes[row[static_cast<std::size_t>(f)]];
                const int b = majority(votes, costs);
                if (votes.size() > 1) {
                    std::string moved;
                    for (std::int64_t f = pe; f < s.out_channels; f += PE)
                        if (row[static_cast<std::size_t>(f)] != b) {
                            moved += (moved.empty() ? "" : ",") + std::to_string(f) + ":" +
                                     names[static_cast<std::size_t>(row[static_cast<std::size_t>(f)])];
                            row[static_cast<std::size_t>(f)] = b;
                        }
                    plan.changes.push_back(layer_label(layers, l) + ": PE " + std::to_string(pe) + " (filters f mod " +
                                           std::to_string(PE) + " = " + std::to_string(pe) + ") runs " +
                                           names[static_cast<std::size_t>(b)] + " (majority of " +
                                           std::to_string(votes[b]) + " of " +
                                           std::to_string(s.out_channels / PE) +
                                           " filters); filters moved from: " + moved);
                }
                use.instances[b] += SIMD;
                use.operations[b] += (s.out_channels / PE) * s.fan_in * s.output_positions;
            }
        } else {
            std::int64_t groups_changed = 0, ops_changed = 0;
            for (std::int64_t pe = 0; pe < PE; ++pe)
                for (std::int64_t lane = 0; lane < SIMD; ++lane) {
                    std::map<int, std::int64_t> votes;
                    for (std::int64_t f = pe; f < s.out_channels; f += PE)
                        for (std::int64_t k = lane; k < s.fan_in; k += SIMD)
                            ++votes[row[static_cast<std::size_t>(f * s.fan_in + k)]];
                    const int b = majority(votes, costs);
                    if (votes.size() > 1) {
                        ++groups_changed;
                        for (std::int64_t f = pe; f < s.out_channels; f += PE)
                            for (std::int64_t k = lane; k < s.fan_in; k += SIMD) {
                                auto& x = row[static_cast<std::size_t>(f * s.fan_in + k)];
                                if (x != b) {
                                    x = b;
                                    ++ops_changed;
                                }
                            }
                    }
                    use.instances[b] += 1;
                    use.operations[b] += (s.out_channels / PE) * (s.fan_in / SIMD) * s.output_positions;
                }
            if (groups_changed > 0)
                plan.changes.push_back(layer_label(layers, l) + ": " + std::to_string(groups_changed) + " of " +
                                       std::to_string(PE * SIMD) +
                                       " multipliers (PE f mod " + std::to_string(PE) + ", lane k mod " +
                                       std::to_string(SIMD) +
                                       ") served mixed blocks; each takes its majority block, " +
                                       std::to_string(ops_changed) + " weight positions changed");
        }
        plan.layers.push_back(std::move(use));
    }
    return plan;
}

std::vector<std::vector<std::int64_t>> Dataflow::unit_groups(const std::vector<LayerShape>& layers,
                                                             Granularity g) const {
    std::vector<std::vector<std::int64_t>> out;
    if (g == Granularity::Layer) return out;
    const std::vector<LayerFolding> folding = fold(layers);
    for (std::size_t l = 0; l < layers.size(); ++l) {
        const auto& s = layers[l];
        const std::int64_t PE = folding[l].pe, SIMD = folding[l].simd;
        auto& ids = out.emplace_back();
        for (std::int64_t f = 0; f < s.out_channels; ++f) {
            if (g == Granularity::Filter) ids.push_back(f % PE);
            else
                for (std::int64_t k = 0; k < s.fan_in; ++k) ids.push_back((f % PE) * SIMD + k % SIMD);
        }
    }
    return out;
}

AcceleratorReport Dataflow::evaluate(const std::vector<LayerShape>& layers, const Configuration& configuration,
                                     const std::vector<std::string>& names,
                                     const std::vector<HardwareCost>& costs) const {
    DataflowPlan p = plan(layers, configuration, names, costs);
    AcceleratorReport r;
    fill_costs(r, kName, p.layers, static_cast<double>(p.interval_cycles), clock_mhz_, activity_, names, costs);
    r.latency_cycles = static_cast<double>(p.interval_cycles);
    double macs = 0, slots = 0;
    for (std::size_t l = 0; l < layers.size(); ++l) {
        macs += static_cast<double>(layers[l].out_channels * layers[l].fan_in * layers[l].output_positions);
        slots += static_cast<double>(p.folding[l].pe * p.folding[l].simd) * static_cast<double>(p.interval_cycles);
    }
    r.utilization = macs / slots;

    const int e = exact_block(kName, exact_, names, costs);
    AcceleratorReport ex;
    const DataflowPlan pe = plan(layers, uniform(layers.size(), e), names, costs);
    fill_costs(ex, kName, pe.layers, static_cast<double>(pe.interval_cycles), clock_mhz_, activity_, names, costs);
    r.exact_power_mw = ex.power_mw;
    r.exact_area_um2 = ex.area_um2;

    r.realized = std::move(p.realized);
    r.changes = std::move(p.changes);
    return r;
}

}  // namespace hawx::accelerators
