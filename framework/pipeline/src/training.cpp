// Training into a checkpoint (hawx train and the experiment pipeline).
#include "hawx/pipeline/training.hpp"

#include <ATen/Parallel.h>
#include <torch/utils.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>

#include "hawx/framework/text.hpp"
#include "hawx/data/dataset.hpp"
#include "hawx/sdk/error.hpp"
#include "hawx/zoo/checkpoint.hpp"
#include "hawx/data/tensor.hpp"
#include "hawx/data/datasets.hpp"
#include "hawx/zoo/progress.hpp"

namespace hawx::pipeline {

void train_checkpoint(const TrainRequest& request) {
    const TrainRequest& r = request;
    zoo::TrainOptions t = r.options;
    const std::string& model = r.model;
    const std::string& dataset = r.dataset;
    const std::string& data_dir = r.data_dir;
    const std::string& out = r.out;
    zoo::check_train_options(t);
    at::set_num_threads(t.threads);
    const hawx::DatasetSplits data = hawx::load_dataset(dataset, data_dir, r.input_size, t.seed);
    t.val_size = r.val_size ? *r.val_size
                               : std::min<std::size_t>(5000, data.train.size() / 10);
    if (t.val_size >= data.train.size())
        throw Error(r.val_size_name + " " + std::to_string(t.val_size) + " leaves no training images (" +
                    std::to_string(data.train.size()) + " in " + data.train.name + ")");

    zoo::ModelOptions mo;
    mo.in_channels = data.train.channels;
    mo.input_size = r.input_size;
    mo.num_classes = std::max(data.train.num_classes, data.test.num_classes);
    mo.width = r.width;
    torch::manual_seed(t.seed);
    const std::shared_ptr<zoo::Network> net = zoo::make_model(model, mo);
    const hawx::InputSpec spec = hawx::input_spec_from_data(hawx::head(data.train, data.train.size() - t.val_size),
                                                          mo.in_channels, mo.input_size);

    std::cout << "model: " << model << " (" << mo.to_string() << "), " << net->approx_layers().size()
              << " approximable layers\n"
              << "data: " << dataset << ", " << data.train.size() - t.val_size << " train / " << t.val_size
              << " val / " << data.test.size() << " test images, " << data.train.channels << "x" << data.train.height
              << "x" << data.train.width << " -> " << spec.channels << "x" << spec.size << "x" << spec.size << "\n"
              << "training: " << t.optimizer << " lr " << t.lr << " (" << t.schedule << "), batch " << t.batch_size
              << ", " << t.epochs << " epochs, seed " << t.seed << ", " << t.threads << " threads" << std::endl;

    // Resumable: a killed training continues after its last finished epoch.
    t.state_path = out + ".state";
    std::ostringstream tag;
    tag << model << "|" << mo.to_string() << "|" << dataset << "|" << data_dir << "|" << t.epochs << "|" << t.batch_size
        << "|" << t.lr << "|" << t.optimizer << "|" << t.momentum << "|" << t.weight_decay << "|" << t.schedule << "|"
        << t.seed << "|" << t.threads << "|" << t.val_size;
    t.state_tag = tag.str();
    const zoo::StateFileLock state_lock(t.state_path);  // one process per state, until the checkpoint is written
    zoo::check_train_state(t.state_path, t.state_tag);
    if (std::filesystem::exists(t.state_path)) std::cout << "resuming from " << t.state_path << std::endl;
    const zoo::StateFileGuard state_guard(t.state_path);
    const bool bar_on_terminal = zoo::ProgressBar::stderr_is_terminal();
    const zoo::TrainResult result = zoo::train(*net, data.train, spec, t, [&](const zoo::EpochStats& e) {
        if (bar_on_terminal) std::cerr << "\r\033[K" << std::flush;  // the bar redraws below this line
        std::cout << "epoch " << e.epoch << "/" << t.epochs << ": loss " << fixed(e.train_loss, 4) << " acc "
                  << percent(e.train_accuracy);
        if (e.val.total > 0) std::cout << " | val " << percent(e.val.accuracy) << " loss " << fixed(e.val.loss, 4);
        std::cout << " | lr " << e.lr << " | " << fixed(e.seconds, 1) << " s" << std::endl;
    });
    const zoo::EvalResult test = zoo::evaluate(*net, data.test, spec, 500);

    nlohmann::json training = {{"dataset", dataset},
                               {"data_dir", data_dir},
                               {"epochs", t.epochs},
                               {"batch_size", t.batch_size},
                               {"lr", t.lr},
                               {"optimizer", t.optimizer},
                               {"momentum", t.momentum},
                               {"weight_decay", t.weight_decay},
                               {"schedule", t.schedule},
                               {"seed", t.seed},
                               {"threads", t.threads},
                               {"val_size", t.val_size},
                               {"train_images", data.train.size() - t.val_size},
                               {"seconds", result.seconds},
                               {"test_accuracy", test.accuracy},
                               {"test_loss", test.loss}};
    if (!result.epochs.empty() && result.epochs.back().val.total > 0)
        training["val_accuracy"] = result.epochs.back().val.accuracy;
    zoo::save_checkpoint(*net, out, spec, training);

    std::cout << "test accuracy: " << percent(test.accuracy) << " (" << test.correct << "/" << test.total
              << "), loss " << fixed(test.loss, 4) << "\n"
              << "training time: " << fixed(result.seconds, 1) << " s\n"
              << "checkpoint: " << out << "\n";
}

zoo::TrainOptions train_options_from(const std::string& model, const nlohmann::json& training, std::uint64_t seed) {
    zoo::TrainOptions t = zoo::default_train_options(model);
    if (training.contains("epochs")) t.epochs = training["epochs"].get<int>();
    if (training.contains("batch_size")) t.batch_size = training["batch_size"].get<std::size_t>();
    if (training.contains("lr")) t.lr = training["lr"].get<double>();
    if (training.contains("optimizer")) t.optimizer = training["optimizer"].get<std::string>();
    if (training.contains("momentum")) t.momentum = training["momentum"].get<double>();
    if (training.contains("weight_decay")) t.weight_decay = training["weight_decay"].get<double>();
    if (training.contains("schedule")) t.schedule = training["schedule"].get<std::string>();
    const int threads = training.value("threads", 0);
    t.threads = threads > 0 ? threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    t.seed = seed;
    return t;
}

}  // namespace hawx::pipeline
