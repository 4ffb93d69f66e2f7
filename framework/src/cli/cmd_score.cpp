// hawx score: steps 1-2 of the HAWX method on a trained model: representative inputs, gradient
// profile of the int8-exact network, and hawx scores of every block at filter, layer and model
// level, written into a new run folder.
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
#include "model_data.hpp"
#include "hawx/engine/engine.hpp"
#include "hawx/engine/library.hpp"
#include "hawx/engine/scoring.hpp"
#include "hawx/framework/io.hpp"
#include "hawx/framework/manifest.hpp"
#include "hawx/framework/plugin_manager.hpp"
#include "hawx/sdk/error.hpp"
#include "hawx/zoo/checkpoint.hpp"
#include "hawx/zoo/data.hpp"
#include "hawx/zoo/datasets.hpp"
#include "hawx/zoo/evaluate.hpp"
#include "hawx/zoo/quantized.hpp"
#include "hawx/zoo/representatives.hpp"

namespace po = boost::program_options;

namespace hawx::cli {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Spearman's rank correlation (average ranks for ties).
double spearman(const std::vector<double>& x, const std::vector<double>& y) {
    const auto ranks = [](const std::vector<double>& v) {
        std::vector<std::size_t> idx(v.size());
        std::iota(idx.begin(), idx.end(), 0);
        std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
        std::vector<double> r(v.size());
        for (std::size_t i = 0; i < idx.size();) {
            std::size_t j = i;
            while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
            for (std::size_t k = i; k <= j; ++k) r[idx[k]] = (static_cast<double>(i + j) / 2.0) + 1.0;
            i = j + 1;
        }
        return r;
    };
    const auto rx = ranks(x), ry = ranks(y);
    const double n = static_cast<double>(x.size());
    const double mx = std::accumulate(rx.begin(), rx.end(), 0.0) / n, my = std::accumulate(ry.begin(), ry.end(), 0.0) / n;
    double sxy = 0, sxx = 0, syy = 0;
    for (std::size_t i = 0; i < rx.size(); ++i)
        sxy += (rx[i] - mx) * (ry[i] - my), sxx += (rx[i] - mx) * (rx[i] - mx), syy += (ry[i] - my) * (ry[i] - my);
    return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0.0;
}

std::string num(double v) {
    std::ostringstream os;
    os.precision(9);
    os << v;
    return os.str();
}

}  // namespace

int score_command(const Args& args) {
    po::options_description opts("options");
    std::string checkpoint, manifest_path, out_dir, input_mean, input_std;
    long long k = 10, profile_size = 0, calibration = 2000, seed = 1, threads = 0, limit = 0;
    bool measure = false;
    opts.add_options()
        ("checkpoint", po::value(&checkpoint)->required(), "checkpoint written by hawx train, or a TorchScript .pt file")
        ("input-mean", po::value(&input_mean), "TorchScript models: input normalisation mean(s) (default: data statistics)")
        ("input-std", po::value(&input_std), "TorchScript models: input normalisation std(s) (default: data statistics)")
        ("manifest", po::value(&manifest_path)->required(), "manifest whose blocks are scored")
        ("k", po::value(&k), "representative inputs (k-means clusters, default 10)")
        ("profile-size", po::value(&profile_size), "training images clustered for representatives (default: all)")
        ("calibration", po::value(&calibration), "training images used to calibrate activation ranges (default 2000)")
        ("seed", po::value(&seed), "k-means seed (default 1)")
        ("threads", po::value(&threads), "threads (default: all cores)")
        ("measure", po::bool_switch(&measure), "also measure each block's test accuracy in every layer and report "
                                                "Spearman's rho between hawx(model) and accuracy")
        ("limit", po::value(&limit), "with --measure: first N test images (default: all)")
        ("out", po::value(&out_dir), "folder for the run folder (default: the manifest's output.dir)");
    po::variables_map vm;
    if (!parse_args(args,
                    "usage: hawx score --checkpoint C --manifest M [options]\n"
                    "Representative inputs (k-means on the first layer's output statistics), gradient profile of the\n"
                    "int8-exact network on them, and hawx scores of every block of the manifest at filter, layer and\n"
                    "model level: scores.json and CSV files in a new run folder.",
                    opts, nullptr, vm))
        return 0;
    if (k < 1) throw Error("--k must be >= 1, got " + std::to_string(k));
    if (profile_size < 0) throw Error("--profile-size must be >= 0, got " + std::to_string(profile_size));
    if (calibration < 1) throw Error("--calibration must be >= 1, got " + std::to_string(calibration));
    if (seed < 0) throw Error("--seed must be >= 0, got " + std::to_string(seed));
    if (threads < 0 || threads > 4096) throw Error("--threads must be >= 0, got " + std::to_string(threads));
    if (limit < 0) throw Error("--limit must be >= 0, got " + std::to_string(limit));

    const Manifest m = read_manifest(manifest_path);
    PluginManager plugins(plugin_search_path(m.plugin_paths));
    const ResolvedManifest resolved = resolve_manifest(m, plugins);
    const engine::NamedLibrary lib = engine::compile_library(instantiate(resolved, plugins).blocks);
    const ModelAndData md = load_model_and_data(checkpoint, "", "", input_mean, input_std);
    const std::shared_ptr<zoo::Network>& net = md.net;
    const zoo::CheckpointMeta& meta = md.meta;
    const zoo::DatasetSplits& data = md.data;
    const Dataset& train = md.train;
    const Dataset profile_set = zoo::head(train, static_cast<std::size_t>(profile_size));
    if (static_cast<std::size_t>(k) > profile_set.size())
        throw Error("--k " + std::to_string(k) + " is larger than the profiling set (" +
                    std::to_string(profile_set.size()) + " images)");
    engine::EngineOptions eo;
    eo.threads = static_cast<int>(threads);
    engine::Engine eng(lib.blocks, eo);
    at::set_num_threads(eng.options().threads);
    const auto L = net->layer_descs().size();

    // 1. Representatives (float network), then calibration.
    auto t0 = std::chrono::steady_clock::now();
    zoo::fold_batchnorm(*net);
    net->eval();
    const zoo::Representatives reps =
        zoo::select_representatives(*net, profile_set, *meta.input, static_cast<int>(k), static_cast<std::uint64_t>(seed));
    const double t_rep = seconds_since(t0);
    zoo::calibrate(*net, eng, train, *meta.input, static_cast<std::size_t>(calibration));

    // 2. Gradient profile of the int8-exact network on the representatives. The loss is the
    // training loss, cross-entropy against the true label, summed over the representatives so
    // that each one's gradient is its own dL/dy.
    t0 = std::chrono::steady_clock::now();
    eng.set_assignment(engine::ModelAssignment::uniform(lib.index("exact"), L));
    eng.set_mode(engine::Mode::Profile);
    eng.clear_profile();
    const at::Tensor x = zoo::to_input(profile_set, reps.ids, *meta.input);
    const at::Tensor y = zoo::to_labels(profile_set, reps.ids);
    torch::nn::functional::cross_entropy(net->forward(x), y,
                                         torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
        .backward();
    const double t_prof = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    const engine::ScoreTable scores = engine::score_hawx(eng.profile(), lib.blocks);
    const double t_score = seconds_since(t0);
    eng.set_mode(engine::Mode::Quantized);

    // Files.
    nlohmann::json j;
    j["checkpoint"] = checkpoint;
    j["model"] = meta.model;
    j["manifest"] = resolved.to_json();
    j["representatives"] = reps.to_json();
    j["inputs"] = scores.inputs;
    j["loss"] = "cross-entropy against the true label, summed over the representatives";
    j["blocks"] = lib.names;
    std::string model_csv = "block,mean,sum\n", layer_csv = "layer,name,block,operations,mean,sum\n",
                filter_csv = "layer,filter,block,mean,sum\n";
    for (std::size_t b = 0; b < lib.names.size(); ++b) {
        j["model_scores"].push_back({{"block", lib.names[b]}, {"mean", scores.model_mean[b]}, {"sum", scores.model_sum[b]}});
        model_csv += lib.names[b] + "," + num(scores.model_mean[b]) + "," + num(scores.model_sum[b]) + "\n";
    }
    for (std::size_t l = 0; l < scores.layers.size(); ++l) {
        const auto& d = scores.layers[l];
        nlohmann::json jl = {{"index", d.index}, {"name", d.name}};
        for (std::size_t b = 0; b < lib.names.size(); ++b) {
            const auto& s = scores.s[l][b];
            jl["scores"].push_back({{"block", lib.names[b]}, {"operations", s.operations}, {"mean", s.layer_mean},
                                    {"sum", s.layer_sum}, {"filter_mean", s.filter_mean}, {"filter_sum", s.filter_sum}});
            layer_csv += std::to_string(d.index) + "," + d.name + "," + lib.names[b] + "," + std::to_string(s.operations) +
                         "," + num(s.layer_mean) + "," + num(s.layer_sum) + "\n";
            for (std::size_t f = 0; f < s.filter_mean.size(); ++f)
                filter_csv += std::to_string(d.index) + "," + std::to_string(f) + "," + lib.names[b] + "," +
                              num(s.filter_mean[f]) + "," + num(s.filter_sum[f]) + "\n";
        }
        j["layers"].push_back(jl);
    }
    j["timing"] = {{"t_representatives_s", t_rep}, {"t_prof_s", t_prof}, {"t_score_s", t_score}};

    std::printf("%-8s %14s %14s", "block", "hawx(model)", "sum");
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
            j["model_scores"][b]["accuracy"] = acc;
        }
        std::printf("\n");
    }
    if (measure && xs.size() >= 2) {
        const double rho = spearman(xs, ys);
        j["spearman_model_score_vs_accuracy"] = rho;
        std::printf("Spearman rho(hawx(model), accuracy) = %.3f over %zu blocks\n", rho, xs.size());
    }
    std::printf("representatives: %zu (ids", reps.ids.size());
    for (auto id : reps.ids) std::printf(" %zu", id);
    std::printf(")\ntimes: representatives %.2f s, t_prof %.3f s, t_score %.3f s\n", t_rep, t_prof, t_score);
    // The run folder appears only once everything is computed.
    const std::string run = create_run_dir(out_dir.empty() ? m.output_dir : out_dir, m.name + "-score");
    write_file_atomic(run + "/scores.json", j.dump(1) + "\n");
    write_file_atomic(run + "/scores_model.csv", model_csv);
    write_file_atomic(run + "/scores_layer.csv", layer_csv);
    write_file_atomic(run + "/scores_filter.csv", filter_csv);
    write_file_atomic(run + "/manifest.resolved.json", resolved.to_json().dump(2) + "\n");
    std::cout << "run folder: " << run << "\n";
    return 0;
}

}  // namespace hawx::cli
