// hawx score: steps 1-2 of the HAWX method on a trained model: representative inputs, gradient
// profile of the int8-exact network, and sensitivity scores of every block (a metric plugin,
// metrics.hawx by default) at weight-position, filter, layer and model level, plus the
// distribution of operation-level hawx scores, written into a new run folder.
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>

#include "commands.hpp"
#include "hawx/pipeline/experiment.hpp"
#include "hawx/pipeline/finetune.hpp"
#include "hawx/pipeline/model_data.hpp"
#include "hawx/pipeline/profiling.hpp"
#include "hawx/pipeline/score_outputs.hpp"
#include "hawx/engine/engine.hpp"
#include "hawx/engine/library.hpp"
#include "hawx/engine/score_distribution.hpp"
#include "hawx/engine/scoring.hpp"
#include "hawx/framework/io.hpp"
#include "hawx/framework/text.hpp"
#include "hawx/framework/manifest.hpp"
#include "hawx/framework/plugin_manager.hpp"
#include "hawx/sdk/error.hpp"
#include "hawx/zoo/checkpoint.hpp"
#include "hawx/data/tensor.hpp"
#include "hawx/data/datasets.hpp"
#include "hawx/zoo/evaluate.hpp"
#include "hawx/zoo/quantized.hpp"
#include "hawx/zoo/representatives.hpp"

namespace po = boost::program_options;

namespace hawx::cli {

int score_command(const Args& args) {
    po::options_description opts("options");
    std::string checkpoint, manifest_path, out_dir, input_mean, input_std, metric_name;
    long long input_size = 0;
    long long k = 10, profile_size = 0, calibration = 2000, seed = 1, threads = 0, limit = 0;
    long long dist_limit = 1 << 20, dist_samples = 1 << 20;
    bool measure = false, no_operation = false, recalibrate = false;
    opts.add_options()
        ("checkpoint", po::value(&checkpoint), "checkpoint written by hawx train, or a TorchScript .pt file (default: the manifest's model.checkpoint)")
        ("input-mean", po::value(&input_mean), "TorchScript models: input normalisation mean(s) (default: data statistics)")
        ("input-std", po::value(&input_std), "TorchScript models: input normalisation std(s) (default: data statistics)")
        ("input-size", po::value(&input_size), "TorchScript models: square input size (default: the dataset's image "
                                               "size if the model accepts it, else the first size it accepts)")
        ("manifest", po::value(&manifest_path)->required(), "manifest whose blocks are scored")
        ("k", po::value(&k), "representative inputs (k-means clusters, default 10)")
        ("profile-size", po::value(&profile_size), "training images clustered for representatives (default: all)")
        ("calibration", po::value(&calibration), "training images used to calibrate activation ranges (default 2000)")
        ("recalibrate", po::bool_switch(&recalibrate), "calibrate even when the checkpoint stores the ranges its "
                                                       "fine-tune trained with (hawx finetune)")
        ("seed", po::value(&seed), "k-means seed, also of the distribution samples (default 1)")
        ("metric", po::value(&metric_name), "sensitivity metric library.component, default parameters (default: the "
                                            "manifest's metric, else metrics.hawx)")
        ("no-operation-scores", po::bool_switch(&no_operation), "skip the weight-position (f, k) level (scores_operation.csv)")
        ("distribution-limit", po::value(&dist_limit), "layers with more operations get a sampled hawx(o) distribution "
                                                       "(default 1048576)")
        ("distribution-samples", po::value(&dist_samples), "operations sampled in such layers (default 1048576)")
        ("threads", po::value(&threads), "threads (default: all cores)")
        ("measure", po::bool_switch(&measure), "also measure each block's test accuracy in every layer and report "
                                                "Spearman's rho between hawx(model) and accuracy")
        ("limit", po::value(&limit), "with --measure: first N test images (default: all)")
        ("out", po::value(&out_dir), "folder for the run folder (default: the manifest's output.dir)");
    po::variables_map vm;
    po::positional_options_description pos;
    pos.add("manifest", 1);
    if (!parse_args(args,
                    "usage: hawx score MANIFEST [--checkpoint C] [options]\n"
                    "Representative inputs (k-means on the first layer's output statistics), gradient profile of the\n"
                    "int8-exact network on them (skipped backward for a metric without gradients), and sensitivity\n"
                    "scores of every block of the manifest at weight-position, filter, layer and model level, plus the\n"
                    "distribution of operation-level hawx scores: scores.json and CSV files in a new run folder.\n"
                    "The model is --checkpoint, else the manifest's model.checkpoint (which must exist; hawx run trains).",
                    opts, &pos, vm))
        return 0;
    if (k < 1) throw Error("--k must be >= 1, got " + std::to_string(k));
    if (vm.count("input-size") && (input_size < 1 || input_size > 4096))
        throw Error("--input-size must be in [1, 4096], got " + std::to_string(input_size));
    std::string size_from = "--input-size";
    if (profile_size < 0) throw Error("--profile-size must be >= 0, got " + std::to_string(profile_size));
    if (calibration < 1) throw Error("--calibration must be >= 1, got " + std::to_string(calibration));
    if (seed < 0) throw Error("--seed must be >= 0, got " + std::to_string(seed));
    if (threads < 0 || threads > 4096) throw Error("--threads must be >= 0, got " + std::to_string(threads));
    if (limit < 0) throw Error("--limit must be >= 0, got " + std::to_string(limit));
    if (dist_limit < 0) throw Error("--distribution-limit must be >= 0, got " + std::to_string(dist_limit));
    if (dist_samples < 1) throw Error("--distribution-samples must be >= 1, got " + std::to_string(dist_samples));

    const pipeline::ManifestSetup setup = pipeline::open_manifest(manifest_path);
    const Manifest& m = setup.manifest();
    const ResolvedManifest& resolved = *setup.resolved;
    // The blocks' signedness decides the profiled network (int8- or uint8-exact).
    const pipeline::BlockSet blocks = pipeline::make_block_set(setup.instances, setup.file(), false, nullptr);
    const engine::NamedLibrary& lib = blocks.library;
    std::string metric_id;
    const std::shared_ptr<SensitivityMetric> metric =
        pipeline::choose_metric(metric_name, resolved, setup.instances, *setup.plugins, &metric_id);
    std::string dataset, data_dir;
    if (checkpoint.empty()) {
        if (!m.experiment.model)
            throw Error(manifest_path + ": has no 'model'; give --checkpoint");
        const ModelSpec& ms = *m.experiment.model;
        checkpoint = ms.checkpoint;
        dataset = m.experiment.dataset.name;
        data_dir = m.experiment.dataset.dir;
        if (input_mean.empty()) input_mean = ms.input_mean;
        if (input_std.empty()) input_std = ms.input_std;
        if (input_size == 0 && ms.input_size > 0) {
            input_size = ms.input_size;
            size_from = manifest_path + ": model.input_size";
        }
    }
    pipeline::InputOptions input;
    input.mean = input_mean;
    input.std = input_std;
    input.size = static_cast<int>(input_size);
    input.size_from = size_from;
    const pipeline::ModelAndData md = pipeline::load_model_and_data(checkpoint, dataset, data_dir, input);
    const std::shared_ptr<zoo::Network>& net = md.net;
    const zoo::CheckpointMeta& meta = md.meta;
    const hawx::DatasetSplits& data = md.data;
    const Dataset& train = md.train;
    const Dataset profile_set = hawx::head(train, static_cast<std::size_t>(profile_size));
    if (static_cast<std::size_t>(k) > profile_set.size())
        throw Error("--k " + std::to_string(k) + " is larger than the profiling set (" +
                    std::to_string(profile_set.size()) + " images)");
    engine::EngineOptions eo;
    eo.threads = static_cast<int>(threads);
    eo.auto_trees = pipeline::auto_mac_trees(setup, net->layer_descs().size(), std::cout);
    engine::Engine eng(lib.blocks, eo);
    at::set_num_threads(eng.options().threads);
    const auto L = net->layer_descs().size();

    pipeline::ProfileRequest q;
    q.profile_set = &profile_set;
    q.calibration_set = &train;
    q.calibration_images = static_cast<std::size_t>(calibration);
    if (!recalibrate && !vm.count("calibration")) q.ranges = pipeline::finetuned_ranges(meta);
    if (q.ranges)
        std::cout << "calibration: the activation ranges " << checkpoint
                  << " was fine-tuned with (--recalibrate measures them again)\n";
    q.k = static_cast<int>(k);
    q.seed = static_cast<std::uint64_t>(seed);
    q.metric = metric.get();
    q.metric_id = metric_id;
    q.exact_index = blocks.exact_index;
    q.per_position = !no_operation;
    q.distribution.exact_limit = dist_limit;
    q.distribution.samples = dist_samples;
    q.distribution.seed = static_cast<std::uint64_t>(seed);
    pipeline::ProfileRun pr = pipeline::profile_and_score(*net, eng, lib, *meta.input, q);
    pipeline::ScoreReport& report = pr.report;
    const engine::ScoreTable& scores = report.scores;
    const zoo::Representatives& reps = pr.reps;

    // Files.
    nlohmann::json& j = report.header;
    j["checkpoint"] = checkpoint;
    j["model"] = meta.model;
    j["manifest"] = resolved.to_json();

    std::printf("%-8s %14s %14s", "block", (metric_id + "(model)").c_str(), "sum");
    if (measure) std::printf(" %10s", "accuracy");
    std::printf("\n");
    std::vector<double> xs, ys;
    for (std::size_t b = 0; b < lib.names.size(); ++b) {
        if (std::isnan(scores.model_mean[b])) continue;
        std::printf("%-8s %14.6g %14.6g", lib.names[b].c_str(), scores.model_mean[b], scores.model_sum[b]);
        if (measure) {
            eng.set_assignment(engine::ModelAssignment::uniform(static_cast<int>(b), L));
            const double acc = zoo::evaluate(*net, data.test, *meta.input, 256, static_cast<std::size_t>(limit)).accuracy;
            std::printf(" %9.2f%%", acc);
            xs.push_back(scores.model_mean[b]);
            ys.push_back(acc);
            if (report.accuracy.empty()) report.accuracy.assign(lib.names.size(), std::nan(""));
            report.accuracy[b] = acc;
        }
        std::printf("\n");
    }
    if (measure && xs.size() >= 2) {
        const double rho = spearman(xs, ys);
        report.spearman = rho;
        std::printf("Spearman rho(%s(model), accuracy) = %.3f over %zu blocks\n", metric_id.c_str(), rho, xs.size());
    }
    std::printf("representatives: %zu (ids", reps.ids.size());
    for (auto id : reps.ids) std::printf(" %zu", id);
    std::printf(")\ntimes: representatives %.2f s, t_prof %.3f s, t_score %.3f s, t_distribution %.3f s\n", pr.t_rep,
                pr.t_prof, pr.t_score, pr.t_dist);
    // The run folder appears only once everything is computed.
    const std::string run = create_run_dir(out_dir.empty() ? m.output_dir : out_dir, m.name + "-score");
    pipeline::write_score_outputs(run, report);
    write_file_atomic(run + "/manifest.resolved.json", resolved.to_json().dump(2) + "\n");
    std::cout << "run folder: " << run << "\n";
    return 0;
}

}  // namespace hawx::cli
