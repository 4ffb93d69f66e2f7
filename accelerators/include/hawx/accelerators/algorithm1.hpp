#pragma once
/// \file
/// `algorithm1`: the paper's Algorithm 1 cost estimate as written, the baseline the two
/// hardware models are compared with. For each layer (spatial) or layer group (temporal,
/// compute_vectors > 0), cost = sum over blocks of (count of that block in the layer or
/// group) x (base power, base area); totals are the sums (lines 7, 11, 14-15).
///
/// The count of a block is, with count = units, the number of configuration units assigned
/// to it (1 per layer, one per filter or one per weight position, by granularity); with
/// count = operations, the multiplications it executes per inference (units x
/// output positions, and x fan_in per filter). No mapping constraint is applied: the
/// configuration is returned unchanged. Temporal grouping cuts the layers into
/// compute_vectors contiguous groups of (nearly) equal layer counts; it changes only the
/// per-group breakdown, not the totals. No timing: latency, energy and utilization are 0.
#include <string>
#include <vector>

#include <hawx/sdk/accelerator.hpp>
#include <hawx/sdk/component.hpp>

#include "hawx/accelerators/common.hpp"

namespace hawx::accelerators {

class Algorithm1 final : public AcceleratorModel {
public:
    static ComponentInfo describe();
    explicit Algorithm1(const Params& params);

    AcceleratorReport evaluate(const std::vector<LayerShape>& layers, const Configuration& configuration,
                               const std::vector<std::string>& block_names,
                               const std::vector<HardwareCost>& block_costs) const override;

private:
    std::vector<GroupUse> count(const std::vector<LayerShape>& layers, const Configuration& c) const;
    std::string count_;  // units | weights | operations
    std::int64_t cvs_;
    std::string exact_;
};

}  // namespace hawx::accelerators
