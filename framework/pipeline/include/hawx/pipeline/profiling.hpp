#pragma once
// Steps 1-2 of the HAWX method, shared by `hawx score` and `hawx run`: representatives
// (k-means on the first layer's output statistics, float network), int8 calibration, the
// gradient profile of the exact quantized network on the representatives, and the metric's
// scores at every level plus the hawx(o) distributions.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hawx/pipeline/score_outputs.hpp"
#include "hawx/engine/engine.hpp"
#include "hawx/engine/library.hpp"
#include "hawx/data/dataset.hpp"
#include "hawx/framework/manifest.hpp"
#include "hawx/framework/plugin_manager.hpp"
#include "hawx/zoo/network.hpp"
#include "hawx/zoo/representatives.hpp"

namespace hawx::pipeline {

/// The metric to score with: `name` (library.component, default parameters) when given, else
/// the manifest's `metric` entry, else metrics.hawx. Sets `id` to its qualified name.
std::shared_ptr<SensitivityMetric> choose_metric(const std::string& name, const ResolvedManifest& resolved,
                                                 const Instances& instances, PluginManager& plugins, std::string* id);

struct ProfileRequest {
    const Dataset* profile_set = nullptr;  ///< clustered for representatives
    const Dataset* calibration_set = nullptr;
    std::size_t calibration_images = 2000;
    /// Activation ranges to use instead of calibrating (a fine-tuned checkpoint's); null: calibrate.
    const nlohmann::json* ranges = nullptr;
    int k = 10;
    std::uint64_t seed = 1;
    const SensitivityMetric* metric = nullptr;
    std::string metric_id;
    int exact_index = 0;        ///< the library's exact multiplier (the profiled network)
    bool per_position = true;   ///< weight-position (f, k) scores
    engine::DistributionOptions distribution;
};

struct ProfileRun {
    zoo::Representatives reps;
    ScoreReport report;  ///< header holds representatives, loss and timing
    double t_rep = 0, t_prof = 0, t_score = 0, t_dist = 0;
    std::vector<std::int64_t> output_positions;  ///< per layer: output pixels per image (1 for linear)
};

/// Runs steps 1-2 on a network whose BatchNorm is folded or foldable (it is folded here), in
/// eval mode; leaves `engine` calibrated, in Quantized mode, with an empty profile and the
/// network running on it. The loss is the training loss, cross-entropy against the true
/// label summed over the representatives (so each one's gradient is its own dL/dy); a metric
/// without gradients skips the backward pass and the distributions.
ProfileRun profile_and_score(zoo::Network& net, engine::Engine& engine, const engine::NamedLibrary& library,
                             const hawx::InputSpec& spec, const ProfileRequest& request);

}  // namespace hawx::pipeline
