#pragma once
/// \file
/// `perun`: a PERUN-like temporal soft processor. C compute vectors (CVs) of L processing
/// elements each (local ids, LIDs); every LID has one multiplier block, fixed in hardware.
///
/// - Work-items: one filter (output channel) of a layer, all its output positions:
///   fan_in * output_positions multiply-accumulates, one per cycle on one LID. A work-group
///   is the work-items of one layer dispatched together to a CV, at most one per LID.
/// - Grouping (paper Algorithm 1, lines 9-10): the layers are cut into G = min(C, layers)
///   contiguous groups minimizing the largest group's MAC count; each group gets one CV and
///   the C - G spare CVs go one by one to the group with the most MACs per CV. Groups form a
///   pipeline; inside a group the layers run one after another on the group's CVs.
/// - Realization: a work-item runs on a LID whose block matches its filter's block. Each
///   group's LIDs (its CVs x L) are typed: every block the group uses gets one LID, the rest go
///   one at a time to the block with the most MACs per LID (ties: the more expensive block).
///   If a group uses more blocks than it has LIDs, the least-used block (fewest MACs; ties:
///   the cheaper) is merged into the remaining block closest in cost
///   (|dP|/P_exact + |dA|/A_exact; ties: the more expensive), until they fit; each merge is a
///   line in `changes`. An operation-level assignment becomes filter level (a work-item runs on
///   one LID): each filter takes its majority block, ties to the more expensive.
/// - Schedule: within a layer, the k_b work-items of block b run on its n_b LIDs in
///   ceil(k_b / n_b) rounds of fan_in * output_positions cycles; the layer takes the longest
///   block's time; a group takes the sum of its layers; latency_cycles (initiation interval) is
///   the slowest group, utilization = MACs / (C * L * interval).
/// - Power and area: sum over LIDs of the block's figures + cv_logic_* per CV (or the
///   activity-weighted power, see power_model).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <hawx/sdk/accelerator.hpp>
#include <hawx/sdk/component.hpp>

#include "hawx/accelerators/common.hpp"

namespace hawx::accelerators {

struct PerunGroup {
    std::size_t first_layer = 0, last_layer = 0;  ///< inclusive, 0-based
    int first_cv = 0, cvs = 1;
    std::map<int, std::int64_t> lids;              ///< LIDs per block
    std::vector<std::int64_t> layer_cycles;        ///< per layer of the group
    std::int64_t cycles = 0;                       ///< sum of layer_cycles
};

struct PerunPlan {
    Configuration realized;
    std::vector<std::string> changes;
    std::vector<PerunGroup> groups;
    std::vector<std::vector<int>> lid_block;  ///< [cv][lid] block index
    std::vector<GroupUse> use;                ///< per group
    std::int64_t interval_cycles = 0;         ///< slowest group
    std::int64_t latency_cycles = 0;          ///< one inference through every group
    std::int64_t macs = 0;
};

class Perun final : public AcceleratorModel {
public:
    static ComponentInfo describe();
    explicit Perun(const Params& params);

    AcceleratorReport evaluate(const std::vector<LayerShape>& layers, const Configuration& configuration,
                               const std::vector<std::string>& block_names,
                               const std::vector<HardwareCost>& block_costs) const override;
    /// Operation level: a filter is one work-item on one LID, so its weight positions are one
    /// group. Other levels: none.
    std::vector<std::vector<std::int64_t>> unit_groups(const std::vector<LayerShape>& layers,
                                                       Granularity g) const override;

    PerunPlan plan(const std::vector<LayerShape>& layers, const Configuration& configuration,
                   const std::vector<std::string>& block_names, const std::vector<HardwareCost>& block_costs) const;

private:
    std::int64_t cvs_, lids_;
    double clock_mhz_;
    bool activity_;
    std::string exact_;
    double cv_logic_power_, cv_logic_area_;
};

}  // namespace hawx::accelerators
