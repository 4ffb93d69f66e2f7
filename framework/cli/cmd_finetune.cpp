// hawx finetune: approximation-aware fine-tuning of a checkpoint under one configuration,
// with accuracies before and after, and a checkpoint hawx eval reads.
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "commands.hpp"
#include "hawx/data/datasets.hpp"
#include "hawx/engine/conversions.hpp"
#include "hawx/engine/engine.hpp"
#include "hawx/engine/library.hpp"
#include "hawx/framework/text.hpp"
#include "hawx/pipeline/experiment.hpp"
#include "hawx/pipeline/finetune.hpp"
#include "hawx/pipeline/model_data.hpp"
#include "hawx/pipeline/searches.hpp"
#include "hawx/sdk/error.hpp"
#include "hawx/sdk/hash.hpp"
#include "hawx/zoo/checkpoint.hpp"
#include "hawx/zoo/evaluate.hpp"
#include "hawx/zoo/quantized.hpp"
#include "hawx/zoo/script_network.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace hawx::cli {

namespace {

std::uint64_t file_hash(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> buf(1 << 16);
    std::uint64_t h = kFnv1aOffset;
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        h = fnv1a_bytes(buf.data(), static_cast<std::size_t>(in.gcount()), h);
    }
    return h;
}

std::string with_ci(const zoo::EvalResult& r) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%6.2f%% +-%.2f", r.accuracy, pipeline::ci95(r.accuracy, r.total));
    return buf;
}

}  // namespace

int finetune_command(const Args& args) {
    po::options_description opts("options");
    std::string checkpoint, manifest_path, config, out, optimizer = "adam", schedule = "cosine", gradient = "ste";
    long long epochs = 1, batch_size = 64, seed = 1, threads = 0, images = 0, calibration = 2000, limit = 0;
    long long slope_rank = 4;
    double lr = 1e-4, weight_decay = 0, momentum = 0.9;
    opts.add_options()
        ("checkpoint", po::value(&checkpoint)->required(), "checkpoint written by hawx train (or by hawx finetune)")
        ("manifest", po::value(&manifest_path)->required(), "manifest whose blocks the configuration names")
        ("config", po::value(&config)->required(), "configuration, e.g. \"1-2:T4 3-5:DRUM4\"")
        ("out", po::value(&out)->required(), "fine-tuned checkpoint to write")
        ("epochs", po::value(&epochs), "epochs (default 1)")
        ("lr", po::value(&lr), "learning rate (default 1e-4)")
        ("batch-size", po::value(&batch_size), "batch size (default 64)")
        ("optimizer", po::value(&optimizer), "adam (default) | sgd")
        ("momentum", po::value(&momentum), "sgd momentum (default 0.9)")
        ("weight-decay", po::value(&weight_decay), "weight decay (default 0)")
        ("schedule", po::value(&schedule), "lr schedule: cosine (default) | step | constant")
        ("gradient", po::value(&gradient), "gradient through approximate products: ste (default) | slope")
        ("slope-rank", po::value(&slope_rank), "--gradient slope: terms kept of each block's error slope (default 4)")
        ("images", po::value(&images), "training images per epoch, the first N of the training split (default: all)")
        ("calibration", po::value(&calibration), "training images that calibrate activation ranges (default 2000)")
        ("limit", po::value(&limit), "evaluate the first N test images only (default: all)")
        ("seed", po::value(&seed), "seed of the shuffling (default 1)")
        ("threads", po::value(&threads), "threads (default: all cores)");
    po::variables_map vm;
    if (!parse_args(args,
                    "usage: hawx finetune --checkpoint C --manifest M --config \"<configuration>\" --out C2 [options]\n"
                    "Fine-tunes the float weights through the bit-exact approximate forward of the configuration\n"
                    "(BatchNorm folded as at evaluation, straight-through or table-slope gradients) with the activation\n"
                    "ranges of the start, which the checkpoint keeps for hawx eval; prints float / int8-exact / approximate accuracy before and after on the\n"
                    "validation and test images, and writes a checkpoint hawx eval reads. Resumes after the last\n"
                    "finished epoch when interrupted (state in C2.state).",
                    opts, nullptr, vm))
        return 0;

    // Everything is checked before the data is read or anything is written.
    zoo::TrainOptions t;
    if (epochs < 1 || epochs > 100000) throw Error("--epochs must be in [1, 100000], got " + std::to_string(epochs));
    if (batch_size < 1) throw Error("--batch-size must be >= 1, got " + std::to_string(batch_size));
    if (seed < 0) throw Error("--seed must be >= 0, got " + std::to_string(seed));
    if (threads < 0 || threads > 4096) throw Error("--threads must be >= 0 (0: all cores), got " + std::to_string(threads));
    if (images < 0) throw Error("--images must be >= 0, got " + std::to_string(images));
    if (calibration < 1) throw Error("--calibration must be >= 1, got " + std::to_string(calibration));
    if (limit < 0) throw Error("--limit must be >= 0, got " + std::to_string(limit));
    if (slope_rank < 0 || slope_rank > 256) throw Error("--slope-rank must be in [0, 256], got " + std::to_string(slope_rank));
    t.epochs = static_cast<int>(epochs);
    t.batch_size = static_cast<std::size_t>(batch_size);
    t.lr = lr;
    t.optimizer = optimizer;
    t.momentum = momentum;
    t.weight_decay = weight_decay;
    t.schedule = schedule;
    t.seed = static_cast<std::uint64_t>(seed);
    t.threads = threads > 0 ? static_cast<int>(threads) : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    zoo::check_train_options(t);
    engine::EngineOptions eo;
    eo.threads = t.threads;
    eo.gradient = engine::gradient_rule_from_string(gradient);
    eo.slope_rank = static_cast<int>(slope_rank);
    const fs::path out_path(out);
    const fs::path out_dir = out_path.parent_path().empty() ? fs::path(".") : out_path.parent_path();
    if (out.empty() || fs::is_directory(out_path)) throw Error("--out " + out + ": expected a file name");
    if (!fs::is_directory(out_dir)) throw Error("--out " + out + ": folder " + out_dir.string() + " does not exist");
    std::error_code ec;
    if (fs::exists(checkpoint) && fs::equivalent(out_path, checkpoint, ec))
        throw Error("--out " + out + ": is the checkpoint being fine-tuned; write to another file");

    const pipeline::ManifestSetup setup = pipeline::open_manifest(manifest_path);
    const engine::NamedLibrary lib = engine::compile_library(setup.instances.blocks);
    pipeline::ModelAndData md = pipeline::load_model_and_data(checkpoint, "", "");
    if (dynamic_cast<const zoo::ScriptNetwork*>(md.net.get()))
        throw Error(checkpoint + ": a TorchScript model; fine-tuning writes hawx checkpoints of zoo models only");
    zoo::Network& net = *md.net;
    const auto descs = net.layer_descs();
    eo.auto_trees = pipeline::auto_mac_trees(setup, descs.size(), std::cout);
    const engine::ModelAssignment approx = engine::parse_assignment(config, lib.names, descs);
    const bool is_signed = lib.blocks[static_cast<std::size_t>(approx.layers.front().units.front())]->is_signed;
    const engine::ModelAssignment exact =
        engine::ModelAssignment::uniform(lib.index(is_signed ? "exact" : "exact-u"), descs.size());

    // Validation: the images the checkpoint held out (a tenth, at most 5000, when none).
    const std::size_t held_out = md.data.train.size() - md.train.size();
    const std::size_t n_val = held_out > 0 ? held_out : std::min<std::size_t>(5000, md.data.train.size() / 10);
    const Dataset val = split_train_val(md.data.train, n_val).second;
    const Dataset fit_all = held_out > 0 ? md.train : head(md.data.train, md.data.train.size() - n_val);
    const Dataset fit = images > 0 ? head(fit_all, static_cast<std::size_t>(images)) : fit_all;
    const std::size_t n_test = limit > 0 ? std::min<std::size_t>(static_cast<std::size_t>(limit), md.data.test.size())
                                         : md.data.test.size();
    pipeline::FinetuneData fd;
    fd.train = &fit;
    fd.calibration = &fit_all;
    fd.calibration_n = static_cast<std::size_t>(calibration);
    fd.val = &val;
    fd.spec = *md.meta.input;
    std::cout << "model: " << md.meta.model << " (" << md.meta.options.to_string() << "), " << descs.size()
              << " approximable layers\n"
              << "configuration: " << engine::format_assignment(approx, lib.names) << "\n"
              << "data: " << md.meta.training.value("dataset", md.data.test.name) << ", " << fit.size() << " training images per epoch, " << val.size()
              << " validation, " << n_test << " test; calibration: "
              << std::min<std::size_t>(fd.calibration_n, fit_all.size()) << " training images\n"
              << "fine-tuning: " << t.epochs << " epoch(s), " << t.optimizer << " lr " << t.lr << " (" << t.schedule
              << "), batch " << t.batch_size << ", gradient " << engine::to_string(eo.gradient) << ", seed " << t.seed
              << ", " << t.threads << " threads\n";

    engine::Engine eng(lib.blocks, eo);
    at::set_num_threads(t.threads);
    struct Row {
        std::string what;
        pipeline::FinetuneEval before, after;
    };
    std::vector<Row> rows{{"float", {}, {}},
                          {is_signed ? "int8-exact" : "uint8-exact", {}, {}},
                          {"approximate", {}, {}},
                          {"re-calibrated", {}, {}}};
    // After fine-tuning: with the ranges it trained with, then re-calibrated (last row).
    const auto measure = [&](bool after) {
        const auto both = [&]() {
            return pipeline::FinetuneEval{zoo::evaluate(net, val, fd.spec, fd.eval_batch),
                                          zoo::evaluate(net, md.data.test, fd.spec, fd.eval_batch, n_test)};
        };
        net.set_runner(nullptr);
        (after ? rows[0].after : rows[0].before) = both();
        net.set_runner(&eng);
        eng.set_mode(engine::Mode::Quantized);
        eng.set_assignment(exact);
        (after ? rows[1].after : rows[1].before) = both();
        eng.set_assignment(approx);
        (after ? rows[2].after : rows[2].before) = both();
    };
    zoo::calibrate(net, eng, fit_all, fd.spec, fd.calibration_n);
    measure(false);
    rows[3].before = rows[2].before;
    std::printf("before: approximate %s on validation, %s on test\n", with_ci(rows[2].before.val).c_str(),
                with_ci(rows[2].before.test).c_str());
    std::fflush(stdout);

    // The resumable state belongs to this checkpoint, configuration, data and settings.
    std::ostringstream tag;
    tag << std::hex << file_hash(checkpoint) << "|" << file_hash(manifest_path) << std::dec << "|" << engine::format_assignment(approx, lib.names) << "|"
        << fit.size() << "|" << fd.calibration_n << "|" << t.epochs << "|" << t.batch_size << "|" << t.lr << "|"
        << t.optimizer << "|" << t.momentum << "|" << t.weight_decay << "|" << t.schedule << "|" << t.seed << "|"
        << gradient << "|" << slope_rank << "|" << t.threads;
    for (const auto& b : lib.names) tag << "|" << b;
    t.state_path = out + ".state";
    t.state_tag = tag.str();
    t.progress = true;
    const zoo::StateFileLock state_lock(t.state_path);  // one process per state, until the checkpoint is written
    zoo::check_train_state(t.state_path, t.state_tag);
    if (fs::exists(t.state_path)) std::cout << "resuming from " << t.state_path << "\n";
    const zoo::StateFileGuard state_guard(t.state_path);
    const zoo::TrainResult tr = pipeline::finetune(net, eng, approx, fd, t, [&](const zoo::EpochStats& e, const zoo::EvalResult& v) {
        std::cout << "epoch " << e.epoch << "/" << t.epochs << ": loss " << fixed(e.train_loss, 4) << " acc "
                  << percent(e.train_accuracy) << " | val approximate " << percent(v.accuracy) << " ("
                  << fixed(e.seconds, 1) << " s)\n"
                  << std::flush;
    });
    const nlohmann::json ranges = eng.calibration_json();
    measure(true);
    std::printf("after: approximate %s on validation, %s on test\n", with_ci(rows[2].after.val).c_str(),
                with_ci(rows[2].after.test).c_str());
    std::fflush(stdout);
    zoo::calibrate(net, eng, fit_all, fd.spec, fd.calibration_n);
    eng.set_assignment(approx);
    rows[3].after = pipeline::FinetuneEval{zoo::evaluate(net, val, fd.spec, fd.eval_batch),
                                           zoo::evaluate(net, md.data.test, fd.spec, fd.eval_batch, n_test)};

    std::printf("\n%-14s %-18s %-18s %-18s %-18s\n", "", "val before", "val after", "test before", "test after");
    for (const auto& r : rows)
        std::printf("%-14s %-18s %-18s %-18s %-18s\n", r.what.c_str(), with_ci(r.before.val).c_str(),
                    with_ci(r.after.val).c_str(), with_ci(r.before.test).c_str(), with_ci(r.after.test).c_str());
    std::printf("approximate vs %s before: %+.2f points (test), after: %+.2f points (test, vs the same baseline)\n"
                "(after: the activation ranges the fine-tune trained with, stored in the checkpoint and used by hawx\n"
                "eval; re-calibrated: ranges measured again on the fine-tuned weights)\n",
                rows[1].what.c_str(), rows[2].before.test.accuracy - rows[1].before.test.accuracy,
                rows[2].after.test.accuracy - rows[1].before.test.accuracy);

    nlohmann::json training = md.meta.training;
    nlohmann::json epochs_json = nlohmann::json::array();
    for (const auto& e : tr.epochs)
        epochs_json.push_back({{"epoch", e.epoch}, {"loss", e.train_loss}, {"accuracy", e.train_accuracy}});
    training["finetune"] = {{"from", checkpoint},
                            {"manifest", manifest_path},
                            {"configuration", engine::format_assignment(approx, lib.names)},
                            {"epochs", t.epochs},
                            {"lr", t.lr},
                            {"optimizer", t.optimizer},
                            {"schedule", t.schedule},
                            {"batch_size", t.batch_size},
                            {"gradient", gradient},
                            {"seed", t.seed},
                            {"images", fit.size()},
                            {"history", epochs_json},
                            {"test_before", rows[2].before.test.accuracy},
                            {"test_after", rows[2].after.test.accuracy},
                            {"test_after_recalibrated", rows[3].after.test.accuracy},
                            {"ranges", ranges}};
    net.set_runner(nullptr);
    zoo::save_checkpoint(net, out, md.meta.input, training);
    std::cout << "wrote " << out << "\n";
    return 0;
}

}  // namespace hawx::cli
