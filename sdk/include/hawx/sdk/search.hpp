#pragma once
/// \file
/// SearchStrategy: ask/tell design-space exploration. The strategy only proposes
/// configurations and is told their results; the core owns evaluation, parallelism,
/// caching, counting, logging and resumption. Provisional (completed by the search issue).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hawx/sdk/block.hpp"
#include "hawx/sdk/error.hpp"
#include "hawx/sdk/configuration.hpp"

namespace hawx {

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
};

/// The result of evaluating one configuration.
struct Outcome {
    double accuracy = 0.0;  ///< percent on the evaluation set
    std::optional<double> power_mw, area_um2, latency_cycles;
};

/// Contract:
/// - `start` is called once before anything else.
/// - `ask` returns the configurations to evaluate next (the core may evaluate them in
///   parallel and in any order); an empty vector means the strategy is finished.
/// - `tell` is called once for every configuration returned by `ask`, before the next `ask`.
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
