#pragma once
/// \file
/// AcceleratorModel: maps a configuration onto hardware and estimates its cost.
/// Built-in models: accelerators.dataflow, accelerators.perun, accelerators.algorithm1
/// (docs/accelerators.md).
#include <map>
#include <string>
#include <vector>

#include "hawx/sdk/block.hpp"
#include "hawx/sdk/error.hpp"
#include "hawx/sdk/configuration.hpp"

namespace hawx {

/// Cost of a realized configuration; `per_group` breaks power and area down by layer or
/// layer group, `per_block` by block short name.
struct AcceleratorReport {
    Configuration realized;            ///< what the hardware actually runs
    std::vector<std::string> changes;  ///< one line per change made to realize the request, with why
    double power_mw = 0, area_um2 = 0, latency_cycles = 0, energy_nj = 0, utilization = 0;
    std::map<std::string, double> per_group_power_mw, per_group_area_um2;
    std::map<std::string, double> per_block_power_mw, per_block_area_um2;
    /// Power and area of the same design (same folding, grouping and non-multiplier logic)
    /// with every multiplier replaced by the exact block: what normalized figures refer to.
    /// 0 when the model does not report them; the core then evaluates the all-exact
    /// configuration itself (SDK ABI 3).
    double exact_power_mw = 0, exact_area_um2 = 0;
};

/// Contract: `evaluate` never rejects a configuration that only needs regrouping: it
/// returns the nearest realizable configuration and lists the changes. It throws
/// hawx::Error when the hardware parameters cannot host the network at all (e.g. an
/// output channel count not divisible by PE), naming the layer and the parameter.
class HAWX_VISIBLE AcceleratorModel {
public:
    virtual ~AcceleratorModel() = default;
    virtual AcceleratorReport evaluate(const std::vector<LayerShape>& layers, const Configuration& configuration,
                                       const std::vector<std::string>& block_names,
                                       const std::vector<HardwareCost>& block_costs) const = 0;
    /// Units that share one physical multiplier (or work-item) and so always run one block:
    /// per layer, a group id in 0..groups-1 for each unit at granularity `g` (equal ids, one
    /// group). evaluate() realizes a configuration that mixes blocks inside a group by moving
    /// units (listed in `changes`); a strategy that keeps every group on one block
    /// (SearchProblem::unit_groups) proposes only what the hardware runs. Empty (the default):
    /// no such constraint is known. Throws like evaluate() on a network it cannot host
    /// (SDK ABI 6).
    virtual std::vector<std::vector<std::int64_t>> unit_groups(const std::vector<LayerShape>& layers,
                                                               Granularity g) const {
        (void)layers, (void)g;
        return {};
    }
};

}  // namespace hawx
