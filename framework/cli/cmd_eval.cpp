// hawx eval: accuracy of a trained model in float, int8-exact and with a configuration of
// approximate blocks, bit-exactly emulated by the engine.
#include <ATen/Parallel.h>
#include <torch/utils.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "commands.hpp"
#include "hawx/pipeline/experiment.hpp"
#include "hawx/pipeline/finetune.hpp"
#include "hawx/pipeline/model_data.hpp"
#include "hawx/engine/conversions.hpp"
#include "hawx/engine/engine.hpp"
#include "hawx/engine/library.hpp"
#include "hawx/framework/manifest.hpp"
#include "hawx/framework/text.hpp"
#include "hawx/framework/plugin_manager.hpp"
#include "hawx/sdk/error.hpp"
#include "hawx/zoo/checkpoint.hpp"
#include "hawx/data/tensor.hpp"
#include "hawx/data/datasets.hpp"
#include "hawx/zoo/evaluate.hpp"
#include "hawx/zoo/quantized.hpp"

namespace po = boost::program_options;

namespace hawx::cli {

int eval_command(const Args& args) {
    po::options_description opts("options");
    std::string checkpoint, model, config, manifest_path, dataset, data_dir, calib_method = "minmax", path = "auto";
    std::string input_mean, input_std;
    long long input_size = 0;
    long long calibration = 2000, limit = 0, batch_size = 256, threads = 0;
    double percentile = 99.99;
    bool verbose = false, recalibrate = false;
    opts.add_options()
        ("checkpoint", po::value(&checkpoint)->required(), "checkpoint written by hawx train, or a TorchScript .pt file")
        ("input-mean", po::value(&input_mean), "TorchScript models: input normalisation mean(s) (default: data statistics)")
        ("input-std", po::value(&input_std), "TorchScript models: input normalisation std(s) (default: data statistics)")
        ("input-size", po::value(&input_size), "TorchScript models: square input size (default: the dataset's image "
                                               "size if the model accepts it, else the first size it accepts)")
        ("model", po::value(&model), "expected model name (checked against the checkpoint)")
        ("config", po::value(&config), "configuration, e.g. \"1-2:T4 3-5:exact\" (block names from --manifest)")
        ("manifest", po::value(&manifest_path), "manifest whose blocks the configuration names")
        ("dataset", po::value(&dataset), "dataset (default: the one the checkpoint was trained on)")
        ("data-dir", po::value(&data_dir), "dataset folder (default: the checkpoint's)")
        ("calibration", po::value(&calibration), "training images used to calibrate activation ranges (default 2000)")
        ("calibration-method", po::value(&calib_method), "minmax (default) | percentile")
        ("percentile", po::value(&percentile), "percentile for --calibration-method percentile (default 99.99)")
        ("path", po::value(&path), "kernel path: auto (default) | gather | separable | reference")
        ("limit", po::value(&limit), "evaluate the first N test images only (default: all)")
        ("batch-size", po::value(&batch_size), "evaluation batch size (default 256)")
        ("threads", po::value(&threads), "threads (default: all cores)")
        ("recalibrate", po::bool_switch(&recalibrate), "calibrate even when the checkpoint stores the ranges its "
                                                        "fine-tune trained with")
        ("verbose", po::bool_switch(&verbose), "print how each layer is computed");
    po::variables_map vm;
    if (!parse_args(args,
                    "usage: hawx eval --checkpoint C [--manifest M --config \"<configuration>\"] [options]\n"
                    "Test accuracy in float, int8-exact (the baseline every approximation is compared with) and,\n"
                    "with --config, with the configuration's approximate blocks (bit-exact emulation).",
                    opts, nullptr, vm))
        return 0;

    // Everything is checked before the data is read.
    if (calibration < 1) throw Error("--calibration must be >= 1, got " + std::to_string(calibration));
    if (vm.count("input-size") && (input_size < 1 || input_size > 4096))
        throw Error("--input-size must be in [1, 4096], got " + std::to_string(input_size));
    if (limit < 0) throw Error("--limit must be >= 0, got " + std::to_string(limit));
    if (batch_size < 1) throw Error("--batch-size must be >= 1, got " + std::to_string(batch_size));
    if (threads < 0 || threads > 4096) throw Error("--threads must be >= 0 (0: all cores), got " + std::to_string(threads));
    if (calib_method != "minmax" && calib_method != "percentile")
        throw Error("--calibration-method must be minmax or percentile, got '" + calib_method + "'");
    if (!(percentile > 50 && percentile <= 100))
        throw Error("--percentile must be in (50, 100], got " + std::to_string(percentile));
    engine::EngineOptions eo;
    eo.path = engine::kernel_path_from_string(path);
    eo.threads = static_cast<int>(threads);
    eo.calibration = calib_method == "minmax" ? engine::CalibrationMethod::MinMax : engine::CalibrationMethod::Percentile;
    eo.percentile = percentile;

    std::optional<pipeline::ManifestSetup> setup;
    if (!manifest_path.empty()) setup.emplace(pipeline::open_manifest(manifest_path));
    const engine::NamedLibrary lib = engine::compile_library(setup ? setup->instances.blocks : Instances{}.blocks);

    pipeline::InputOptions input;
    input.mean = input_mean;
    input.std = input_std;
    input.size = static_cast<int>(input_size);
    input.size_from = "--input-size";
    const pipeline::ModelAndData md = pipeline::load_model_and_data(checkpoint, dataset, data_dir, input);
    const std::shared_ptr<zoo::Network>& net = md.net;
    const zoo::CheckpointMeta& meta = md.meta;
    const hawx::DatasetSplits& data = md.data;
    if (!model.empty() && model != meta.model)
        throw Error(checkpoint + ": holds model " + meta.model + ", not " + model);
    const auto descs = net->layer_descs();
    if (setup) eo.auto_trees = pipeline::auto_mac_trees(*setup, descs.size(), std::cout);
    engine::ModelAssignment approx;
    if (!config.empty()) approx = engine::parse_assignment(config, lib.names, descs);
    // Calibrate on training images only (never on validation or test data).
    const Dataset& calib = md.train;
    const std::size_t n_test = limit > 0 ? std::min<std::size_t>(static_cast<std::size_t>(limit), data.test.size())
                                         : data.test.size();

    // A fine-tuned checkpoint was trained for the ranges it stores; measuring them again on the
    // new weights can undo the fine-tune (EXPERIMENTS.md), so they are used unless told otherwise.
    const nlohmann::json* stored = pipeline::finetuned_ranges(meta);
    const bool use_stored = stored && !recalibrate && !vm.count("calibration") && !vm.count("calibration-method");
    std::cout << "model: " << meta.model << " (" << meta.options.to_string() << "), " << descs.size()
              << " approximable layers\n"
              << "data: " << data.test.name << ", " << n_test << " test images; calibration: ";
    if (use_stored)
        std::cout << "the activation ranges " << checkpoint << " was fine-tuned with (--recalibrate measures them again)\n";
    else
        std::cout << std::min<std::size_t>(static_cast<std::size_t>(calibration), calib.size()) << " training images ("
                  << calib_method << ")\n";

    engine::Engine eng(lib.blocks, eo);
    const auto timed_eval = [&](const char* what) {
        const auto t0 = std::chrono::steady_clock::now();
        const zoo::EvalResult r = zoo::evaluate(*net, data.test, *meta.input, static_cast<std::size_t>(batch_size), n_test);
        const double s = seconds_since(t0);
        std::printf("%-16s %8s  (%zu/%zu, loss %.4f, %.2f s)\n", what, percent(r.accuracy).c_str(), r.correct, r.total,
                    r.loss, s);
        std::fflush(stdout);
        return r;
    };
    net->set_runner(nullptr);
    at::set_num_threads(eng.options().threads);
    const zoo::EvalResult fl = timed_eval("float:");
    if (use_stored) {
        pipeline::use_ranges(*net, eng, *stored);
    } else {
        zoo::calibrate(*net, eng, calib, *meta.input, static_cast<std::size_t>(calibration));
    }
    // The int8-exact baseline uses the exact multiplier of the configuration's signedness.
    bool is_signed = true;
    if (!approx.layers.empty())
        is_signed = lib.blocks[static_cast<std::size_t>(approx.layers.front().units.front())]->is_signed;
    eng.set_assignment(engine::ModelAssignment::uniform(lib.index(is_signed ? "exact" : "exact-u"), descs.size()));
    const zoo::EvalResult ex = timed_eval(is_signed ? "int8-exact:" : "uint8-exact:");
    std::printf("%-16s %+.2f points vs float\n", "", ex.accuracy - fl.accuracy);
    if (!approx.layers.empty()) {
        eng.set_assignment(approx);
        const zoo::EvalResult ap = timed_eval("approximate:");
        std::printf("%-16s %+.2f points vs %s-exact\n", "", ap.accuracy - ex.accuracy, is_signed ? "int8" : "uint8");
        std::cout << "configuration: " << engine::format_assignment(approx, lib.names) << "\n";
        if (verbose)
            for (const auto& d : descs)
                std::cout << "layer " << d.index << " (" << d.name << "):\n" << eng.describe_layer(d.index);
    }
    return 0;
}

}  // namespace hawx::cli
