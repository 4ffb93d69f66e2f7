// hawx train: trains a zoo model in float on a dataset and writes a checkpoint.
#include <ATen/Parallel.h>
#include <torch/utils.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>

#include "commands.hpp"
#include "hawx/pipeline/training.hpp"
#include "hawx/data/dataset.hpp"
#include "hawx/sdk/error.hpp"
#include "hawx/zoo/checkpoint.hpp"
#include "hawx/data/tensor.hpp"
#include "hawx/data/datasets.hpp"
#include "hawx/zoo/progress.hpp"
#include "hawx/zoo/train.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace hawx::cli {

int train_command(const Args& args) {
    po::options_description opts("options");
    std::string model, dataset = "fashion-mnist", data_dir, out, optimizer, schedule;
    double width = 1.0, lr = 0, momentum = 0, weight_decay = 0;
    long long input_size = 32, epochs = 0, batch_size = 0, seed = 1, threads = 0, val_size = 0;
    opts.add_options()
        ("model", po::value(&model)->required(), "lenet5 | vgg11 | resnet18 | efficientnet_lite0")
        ("dataset", po::value(&dataset), "fashion-mnist (default) | mnist | cifar10 | gtsrb | synthetic")
        ("data-dir", po::value(&data_dir), "dataset folder (needed by mnist, cifar10, gtsrb; optional for fashion-mnist)")
        ("width", po::value(&width), "channel multiplier (default 1)")
        ("input-size", po::value(&input_size), "model input size, square (default 32)")
        ("epochs", po::value(&epochs), "epochs (default per model: lenet5 10, others 30)")
        ("batch-size", po::value(&batch_size), "batch size (default per model: lenet5 64, others 128)")
        ("lr", po::value(&lr), "learning rate (default per model: lenet5 1e-3, others 0.05)")
        ("optimizer", po::value(&optimizer), "adam | sgd (default per model: lenet5 adam, others sgd)")
        ("momentum", po::value(&momentum), "sgd momentum (default 0.9)")
        ("weight-decay", po::value(&weight_decay), "weight decay (default: lenet5 0, others 5e-4)")
        ("schedule", po::value(&schedule), "lr schedule: cosine (default) | step | constant")
        ("seed", po::value(&seed), "seed of weights, shuffling and synthetic data (default 1)")
        ("threads", po::value(&threads), "intra-op threads (default: all cores)")
        ("val-size", po::value(&val_size), "last training images held out for validation (default 5000, at most a tenth)")
        ("out", po::value(&out)->required(), "checkpoint file to write");
    po::variables_map vm;
    if (!parse_args(args,
                    "usage: hawx train --model M [--dataset D] --out CHECKPOINT [options]\n"
                    "Trains a zoo model in float, prints validation accuracy per epoch and the final test accuracy,\n"
                    "and writes a checkpoint (torch.save-compatible; torch.load reads it).",
                    opts, nullptr, vm))
        return 0;

    // Every option is checked before any data is read or anything is written.
    const auto names = zoo::model_names();
    if (std::find(names.begin(), names.end(), model) == names.end()) {
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
        throw Error("unknown model '" + model + "' (models: " + list + ")");
    }
    zoo::TrainOptions t = zoo::default_train_options(model);
    if (vm.count("epochs")) {
        if (epochs < 1 || epochs > 1000000) throw Error("--epochs must be >= 1, got " + std::to_string(epochs));
        t.epochs = static_cast<int>(epochs);
    }
    if (vm.count("batch-size")) {
        if (batch_size < 1) throw Error("--batch-size must be >= 1, got " + std::to_string(batch_size));
        t.batch_size = static_cast<std::size_t>(batch_size);
    }
    if (vm.count("lr")) t.lr = lr;
    if (vm.count("optimizer")) t.optimizer = optimizer;
    if (vm.count("momentum")) t.momentum = momentum;
    if (vm.count("weight-decay")) t.weight_decay = weight_decay;
    if (vm.count("schedule")) t.schedule = schedule;
    if (seed < 0) throw Error("--seed must be >= 0, got " + std::to_string(seed));
    t.seed = static_cast<std::uint64_t>(seed);
    if (threads < 0 || threads > 4096) throw Error("--threads must be >= 0 (0: all cores), got " + std::to_string(threads));
    t.threads = threads > 0 ? static_cast<int>(threads)
                            : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    if (vm.count("val-size") && val_size < 0) throw Error("--val-size must be >= 0, got " + std::to_string(val_size));
    zoo::check_train_options(t);
    if (!(width > 0) || width > 64) {
        std::ostringstream w;
        w << width;
        throw Error("--width must be in (0, 64], got " + w.str());
    }
    if (input_size < 1 || input_size > 4096)
        throw Error("--input-size must be in [1, 4096], got " + std::to_string(input_size));
    hawx::check_dataset_name(dataset);
    const fs::path out_path(out);
    const fs::path out_dir = out_path.parent_path().empty() ? fs::path(".") : out_path.parent_path();
    if (out.empty() || fs::is_directory(out_path)) throw Error("--out " + out + ": expected a file name");
    if (!fs::is_directory(out_dir)) throw Error("--out " + out + ": folder " + out_dir.string() + " does not exist");

    pipeline::TrainRequest req;
    req.model = model;
    req.dataset = dataset;
    req.data_dir = data_dir;
    req.width = width;
    req.input_size = static_cast<int>(input_size);
    req.options = t;
    if (vm.count("val-size")) req.val_size = static_cast<std::size_t>(val_size);
    req.out = out;
    pipeline::train_checkpoint(req);
    return 0;
}

}  // namespace hawx::cli
