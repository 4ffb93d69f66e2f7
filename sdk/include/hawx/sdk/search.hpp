#pragma once
/// \file
/// SearchStrategy: ask/tell design-space exploration. The strategy only proposes
/// configurations and is told their results; the core owns evaluation, parallelism,
/// caching, counting, logging and resumption.
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "hawx/sdk/block.hpp"
#include "hawx/sdk/error.hpp"
#include "hawx/sdk/configuration.hpp"

namespace hawx {

/// What became of a configuration the strategy asked for (as Timeloop's Report(status, cost)).
enum class EvalStatus {
    Evaluated,  ///< accuracy and costs are those of the configuration
    /// The accuracy evaluation failed (e.g. a non-finite accuracy) and the experiment's
    /// exploration.on_error is `skip`: accuracy is NaN; costs are filled when known.
    Failed,
    /// The core did not evaluate it: a component (an accelerator model) could not cost it and
    /// on_error is `skip`. Accuracy is NaN and there are no costs.
    Skipped
};

inline const char* to_string(EvalStatus s) {
    switch (s) {
        case EvalStatus::Evaluated: return "evaluated";
        case EvalStatus::Failed: return "failed";
        case EvalStatus::Skipped: return "skipped";
    }
    return "?";
}

/// The result of evaluating one configuration.
struct Outcome {
    double accuracy = 0.0;  ///< percent on the evaluation (validation) set; NaN in cost-only estimates
    std::optional<double> power_mw, area_um2, latency_cycles;
    /// Anything but Evaluated means: never feasible, whatever `accuracy` holds (SDK ABI 3).
    EvalStatus status = EvalStatus::Evaluated;
};

/// True when `o` was evaluated and its accuracy meets `threshold` (percent): the one
/// feasibility test strategies should use.
inline bool meets_threshold(const Outcome& o, double threshold) {
    return o.status == EvalStatus::Evaluated && o.accuracy >= threshold;
}

/// Everything a strategy may know about the problem before it proposes anything.
struct SearchProblem {
    std::vector<LayerShape> layers;
    std::vector<std::string> block_names;  ///< short names from the manifest; indices used in Configuration
    std::vector<HardwareCost> block_costs;
    Granularity granularity = Granularity::Layer;
    double accuracy_threshold = 0.0;  ///< lowest acceptable accuracy, percent
    double baseline_accuracy = 0.0;   ///< int8-exact accuracy, percent
    /// scores[l][u][b]: metric score of unit u of layer l under block b (empty when no metric runs)
    std::vector<std::vector<std::vector<double>>> scores;
    std::uint64_t seed = 0;
    std::uint64_t max_evaluations = 0;  ///< 0: no limit
    /// score_sums[l][u][b]: the same scores summed over the unit's operations (first-order
    /// loss-change estimates, which add up across units); empty when no metric runs.
    std::vector<std::vector<std::vector<double>>> score_sums;
    /// Cost of a configuration on the configured accelerator (accuracy NaN), without any
    /// accuracy evaluation: cheap, call it freely. Null when no accelerator is configured;
    /// then strategies rank by the Algorithm-1 sum of block costs (see configuration_cost).
    /// A configuration the accelerator cannot cost (on_error = skip) comes back with status
    /// Skipped and no costs.
    std::function<Outcome(const Configuration&)> estimate_cost;
    double eval_seconds = 0.0;  ///< measured time of one full evaluation (for budget estimates)
    int exact_block = -1;       ///< index of the exact block in block_names, -1 when none
    std::string strategy_name;  ///< library.component, for messages
    /// Predicted accuracy drop (points below the baseline; may be < 0) of a configuration,
    /// from single-layer measurements on training images, never the validation split
    /// (SDK ABI 5; docs/search.md, "The drop predictor"). Not an accuracy evaluation: the
    /// first call measures every block in every layer on training images (the run prints
    /// what that cost), later calls take microseconds to milliseconds. Null when the
    /// experiment cannot provide it (a problem built outside the pipeline, e.g. in tests).
    std::function<double(const Configuration&)> predict_drop;
    /// The drop predict_drop gives a configuration with unit `unit` of layer `layer` on
    /// `block` and every other unit on the exact block; predict_drop is the sum of these over
    /// a configuration's units (additive), saturated at the collapse to chance accuracy
    /// (baseline - 100 / classes). O(1), where predict_drop is O(units): what a
    /// strategy needs per unit at operation granularity (tens of thousands of units). Null
    /// when predict_drop is (SDK ABI 6).
    std::function<double(std::size_t layer, std::size_t unit, int block)> predict_unit_drop;
    /// The drop of `c` measured, not predicted: the accuracy of the whole configuration on the
    /// drop predictor's training images (the ones predict_drop's table was measured on; never
    /// the validation split), below the int8-exact accuracy there, in points. One forward pass
    /// over those images (layers before the first one that differs from the previous call's
    /// configuration are reused, so calls in lexicographic order of the layers' blocks cost
    /// less); not an accuracy evaluation: the run reports how many were made and their time.
    /// Null when predict_drop is (SDK ABI 7).
    std::function<double(const Configuration&)> measure_drop;
    /// The objective accelerator's unit groups (AcceleratorModel::unit_groups): per layer a
    /// group id per unit; units of one group always run one block on that hardware. Empty:
    /// none known (every unit free). Strategies that honour them search over groups (SDK ABI 6).
    std::vector<std::vector<std::int64_t>> unit_groups;
};

/// The cost of a fully parallel network: one physical multiplier per weight (per weight
/// position of each filter), each costing its block's power (or area), summed. Used when no
/// accelerator model is configured; reported as "weights", the same figure as
/// accelerators.algorithm1 with count = weights (the paper's Algorithm 1 counts one
/// multiplier per configuration unit instead: count = units, its default).
inline Outcome configuration_cost(const SearchProblem& p, const Configuration& c) {
    Outcome o;
    o.accuracy = std::numeric_limits<double>::quiet_NaN();
    double power = 0, area = 0;
    for (std::size_t l = 0; l < c.blocks.size() && l < p.layers.size(); ++l) {
        const auto& units = c.blocks[l];
        const double per_unit = static_cast<double>(p.layers[l].out_channels * p.layers[l].fan_in) /
                                static_cast<double>(units.empty() ? 1 : units.size());
        for (int b : units) {
            power += per_unit * p.block_costs[static_cast<std::size_t>(b)].power_mw;
            area += per_unit * p.block_costs[static_cast<std::size_t>(b)].area_um2;
        }
    }
    o.power_mw = power;
    o.area_um2 = area;
    return o;
}

/// Contract:
/// - `start` is called once before anything else.
/// - `ask` returns the configurations to evaluate next (the core may evaluate them in
///   parallel and in any order); an empty vector means the strategy is finished.
/// - `tell` is called once for every configuration returned by `ask`, before the next `ask`;
///   an outcome whose status is not Evaluated is infeasible (see meets_threshold).
/// - `best` is the strategy's answer (nullopt when nothing met the threshold).
/// - Randomness comes only from SearchProblem::seed, so that a run is reproducible.
class HAWX_VISIBLE SearchStrategy {
public:
    virtual ~SearchStrategy() = default;
    virtual void start(const SearchProblem& problem) = 0;
    virtual std::vector<Configuration> ask() = 0;
    virtual void tell(const Configuration& configuration, const Outcome& outcome) = 0;
    virtual std::optional<Configuration> best() const = 0;
};

}  // namespace hawx
