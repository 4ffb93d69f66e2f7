#pragma once
/// \file
/// `dataflow`: a FINN-style spatial accelerator. Every layer has its own compute engine of
/// PE x SIMD physical multipliers: filter f runs on PE (f mod PE), weight position k on SIMD
/// lane (k mod SIMD), so multiplier (pe, lane) of layer l serves every operation (f, k) with
/// f = pe (mod PE) and k = lane (mod SIMD).
///
/// - Folding: `pe` / `simd` lists (one value or one per layer) or, with folding = target_fps,
///   derived per layer as the divisor pair (PE | out_channels, SIMD | fan_in) with the fewest
///   multipliers PE*SIMD (then the smaller PE) whose cycles meet clock_mhz*1e6/target_fps.
/// - FINN's checks: out_channels % PE == 0, fan_in % SIMD == 0 (hawx::Error naming the layer).
/// - Cycles of layer l = (out_channels/PE) * (fan_in/SIMD) * output_positions; the slowest
///   layer is the initiation interval (latency_cycles); the pipeline fill is the sum.
/// - Regrouping: a physical multiplier has one block, so all units it serves get one block:
///   filter level per PE, operation level per (PE, lane); the block is the majority of the
///   units' requests, ties to the more expensive block (see common.hpp). Each changed PE /
///   multiplier group is listed in `changes`.
/// - Area = sum PE*SIMD instances x block area + pe_logic_area_um2 per PE + layer_logic_area_um2
///   per layer; power likewise (or activity-weighted, see power_model).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <hawx/sdk/accelerator.hpp>
#include <hawx/sdk/component.hpp>

#include "hawx/accelerators/common.hpp"

namespace hawx::accelerators {

struct LayerFolding {
    std::int64_t pe = 1, simd = 1;
    std::int64_t cycles = 0;  ///< (out_channels/PE) * (fan_in/SIMD) * output_positions
};

/// A configuration mapped onto the engines.
struct DataflowPlan {
    Configuration realized;
    std::vector<std::string> changes;
    std::vector<LayerFolding> folding;
    std::vector<GroupUse> layers;  ///< per layer: instances and operations by block
    std::int64_t interval_cycles = 0;
    std::int64_t fill_cycles = 0;  ///< sum of the layers' cycles
};

class Dataflow final : public AcceleratorModel {
public:
    static ComponentInfo describe();
    explicit Dataflow(const Params& params);

    AcceleratorReport evaluate(const std::vector<LayerShape>& layers, const Configuration& configuration,
                               const std::vector<std::string>& block_names,
                               const std::vector<HardwareCost>& block_costs) const override;
    /// Filter level: filter f runs on PE f mod PE; operation level: weight position (f, k) on
    /// the multiplier (f mod PE, k mod SIMD). Layer level: none.
    std::vector<std::vector<std::int64_t>> unit_groups(const std::vector<LayerShape>& layers,
                                                       Granularity g) const override;

    /// Per-layer folding (from the lists or the target throughput), checked.
    std::vector<LayerFolding> fold(const std::vector<LayerShape>& layers) const;
    /// Regroups `configuration` to what the engines can run and counts instances.
    DataflowPlan plan(const std::vector<LayerShape>& layers, const Configuration& configuration,
                      const std::vector<std::string>& block_names, const std::vector<HardwareCost>& block_costs) const;

private:
    bool from_fps_;
    std::string pe_, simd_;
    double target_fps_, clock_mhz_;
    bool activity_;
    std::string exact_;
    double pe_logic_power_, pe_logic_area_, layer_logic_power_, layer_logic_area_;
};

}  // namespace hawx::accelerators
