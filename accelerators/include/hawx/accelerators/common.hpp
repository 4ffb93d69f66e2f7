#pragma once
/// \file
/// Pieces shared by the accelerator models: input checks, the exact-block choice used for
/// normalization, the regrouping rule (majority, ties to the more expensive block), folding
/// lists, and energy per operation.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <hawx/sdk/accelerator.hpp>
#include <hawx/sdk/params.hpp>

namespace hawx::accelerators {

/// power_mw / exact_power_mw and area_um2 / exact_area_um2 (the report's exact-design
/// figures); throw hawx::Error when the report has none.
double normalized_power(const AcceleratorReport& r);
double normalized_area(const AcceleratorReport& r);

/// "layer 2 (conv2)" — how messages name a layer (1-based, as configuration strings).
std::string layer_label(const std::vector<LayerShape>& layers, std::size_t l);
/// Key of a layer in the per-group maps: its name, or "layer<N>" when it has none.
std::string layer_key(const std::vector<LayerShape>& layers, std::size_t l);

/// Throws hawx::Error (prefixed with `component`) unless shapes are positive, the
/// configuration has one entry per layer with the right number of units, every index names
/// a block, and names and costs have the same length.
void check_inputs(const std::string& component, const std::vector<LayerShape>& layers, const Configuration& c,
                  const std::vector<std::string>& names, const std::vector<HardwareCost>& costs);

/// Block a is "more expensive" than b: higher power, then higher area, then lower index.
/// Used as the tie rule wherever blocks compete: with the same votes, the costlier (and, for
/// the paper's multipliers, more accurate) block wins, so regrouping never trades accuracy
/// for cost on a tie.
bool more_expensive(int a, int b, const std::vector<HardwareCost>& costs);

/// The block with the most votes; ties go to the more expensive block.
int majority(const std::map<int, std::int64_t>& votes, const std::vector<HardwareCost>& costs);

/// The block normalized against: the one whose short name is `exact`, or, when `exact` is
/// empty, the most expensive block (see more_expensive). Throws naming `component` when
/// `exact` is not among `names`.
int exact_block(const std::string& component, const std::string& exact, const std::vector<std::string>& names,
                const std::vector<HardwareCost>& costs);

/// The same network with every unit on block `b` (layer granularity).
Configuration uniform(std::size_t layers, int b);

/// Energy of one operation in pJ: cost.energy_pj when given, else power_mw * delay_ns.
/// Throws naming the block when neither is known.
double energy_per_op_pj(const std::string& component, const std::string& name, const HardwareCost& cost);

/// Parses a folding list: one positive integer for every layer ("4") or one per layer
/// ("6,16,8,4,2"). Throws naming `component` and `key` on a malformed entry or a count that
/// matches neither.
std::vector<std::int64_t> parse_int_list(const std::string& component, const std::string& key,
                                         const std::string& text, std::size_t layers);

/// Block index of unit `u` of layer `l` under `c`, for any granularity, seen at filter f and
/// weight position k (Layer ignores both, Filter ignores k).
inline int block_at(const Configuration& c, std::size_t l, const LayerShape& s, std::int64_t f, std::int64_t k) {
    switch (c.granularity) {
        case Granularity::Layer: return c.blocks[l][0];
        case Granularity::Filter: return c.blocks[l][static_cast<std::size_t>(f)];
        case Granularity::Operation: return c.blocks[l][static_cast<std::size_t>(f * s.fan_in + k)];
    }
    return c.blocks[l][0];
}

/// Physical use of one layer or layer group: multiplier instances and operations executed
/// per inference, by block index, plus non-multiplier logic.
struct GroupUse {
    std::string key;
    std::map<int, std::int64_t> instances;
    std::map<int, std::int64_t> operations;
    double logic_power_mw = 0, logic_area_um2 = 0;
};

/// Fills power, area, energy and the per-group / per-block maps of `r` from `groups`, for one
/// inference every `interval_cycles` at `clock_mhz`. Area = sum instances x block area + logic.
/// Power: instances x block power + logic, or with `activity` operations x energy per
/// operation / interval time + logic. Energy per inference = power x interval time.
void fill_costs(AcceleratorReport& r, const std::string& component, const std::vector<GroupUse>& groups,
                double interval_cycles, double clock_mhz, bool activity, const std::vector<std::string>& names,
                const std::vector<HardwareCost>& costs);

/// Shared power-model parameters.
ParamSpec power_model_param();
ParamSpec clock_param();
ParamSpec exact_param();

}  // namespace hawx::accelerators
