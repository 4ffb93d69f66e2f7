#include "hawx/pipeline/profiling.hpp"

#include <ATen/Parallel.h>
#include <torch/nn/functional/loss.h>

#include <chrono>

#include "hawx/engine/score_distribution.hpp"
#include "hawx/framework/text.hpp"
#include "hawx/pipeline/finetune.hpp"
#include "hawx/engine/scoring.hpp"
#include "hawx/data/tensor.hpp"
#include "hawx/zoo/quantized.hpp"

namespace hawx::pipeline {

std::shared_ptr<SensitivityMetric> choose_metric(const std::string& name, const ResolvedManifest& resolved,
                                                 const Instances& instances, PluginManager& plugins, std::string* id) {
    std::shared_ptr<SensitivityMetric> metric = instances.metric;
    *id = resolved.metric ? resolved.metric->ref.component : "";
    if (!name.empty() || !metric) {
        *id = name.empty() ? "metrics.hawx" : name;
        const ComponentEntry& entry = plugins.find(*id, Kind::Metric);
        const std::string context = "--metric " + *id;
        metric = plugins.create<SensitivityMetric>(
            entry, plugins.resolve_params(entry, nlohmann::json::object(), context, resolved.manifest.dir), context);
    }
    return metric;
}

ProfileRun profile_and_score(zoo::Network& net, engine::Engine& eng, const engine::NamedLibrary& lib,
                             const hawx::InputSpec& spec, const ProfileRequest& q) {
    ProfileRun run;
    const bool gradients = q.metric->needs_gradients();
    // 1. Representatives (float network), then calibration on training images.
    auto t0 = std::chrono::steady_clock::now();
    zoo::fold_batchnorm(net);
    net.eval();
    net.set_runner(nullptr);
    run.reps = zoo::select_representatives(net, *q.profile_set, spec, q.k, q.seed);
    run.t_rep = seconds_since(t0);
    if (q.ranges)
        use_ranges(net, eng, *q.ranges);
    else
        zoo::calibrate(net, eng, *q.calibration_set, spec, q.calibration_images);

    // 2. Profile of the int8-exact network on the representatives, then the scores.
    t0 = std::chrono::steady_clock::now();
    eng.set_assignment(engine::ModelAssignment::uniform(q.exact_index, net.layer_descs().size()));
    eng.set_mode(engine::Mode::Profile);
    eng.clear_profile();
    {
        const at::Tensor x = hawx::to_input(*q.profile_set, run.reps.ids, spec);
        const at::Tensor y = hawx::to_labels(*q.profile_set, run.reps.ids);
        const at::Tensor logits = net.forward(x);
        if (gradients)
            torch::nn::functional::cross_entropy(logits, y,
                                                 torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                .backward();
    }
    run.t_prof = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    engine::ScoreOptions so;
    so.per_position = q.per_position;
    run.report.scores = engine::score_with_metric(eng.profile(), lib.blocks, *q.metric, so);
    run.t_score = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    run.report.distribution_options = q.distribution;
    if (gradients) run.report.distributions = engine::score_distributions(eng.profile(), lib.blocks, q.distribution);
    run.t_dist = seconds_since(t0);
    run.output_positions.assign(net.layer_descs().size(), 1);
    for (const auto& r : eng.profile())
        if (r.output.dim() == 4)
            run.output_positions[static_cast<std::size_t>(r.layer.index - 1)] = r.output.size(2) * r.output.size(3);
    eng.clear_profile();
    eng.set_mode(engine::Mode::Quantized);

    run.report.metric = q.metric_id;
    run.report.block_names = lib.names;
    nlohmann::json& j = run.report.header;
    j["representatives"] = run.reps.to_json();
    j["loss"] = gradients ? "cross-entropy against the true label, summed over the representatives"
                          : "none (the metric needs no gradients; no backward pass)";
    j["timing"] = {{"t_representatives_s", run.t_rep}, {"t_prof_s", run.t_prof}, {"t_score_s", run.t_score},
                   {"t_distribution_s", run.t_dist}};
    return run;
}

}  // namespace hawx::pipeline
