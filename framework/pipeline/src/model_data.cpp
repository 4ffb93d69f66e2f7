#include "hawx/pipeline/model_data.hpp"

#include <filesystem>
#include <iostream>
#include <sstream>

#include "hawx/sdk/error.hpp"
#include "hawx/pipeline/distributed.hpp"
#include "hawx/pipeline/training.hpp"
#include "hawx/zoo/quantized.hpp"
#include "hawx/data/tensor.hpp"
#include "hawx/zoo/script_network.hpp"

namespace hawx::pipeline {

namespace {
std::vector<float> floats(const std::string& s, const char* what) {
    std::vector<float> v;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) {
        try {
            std::size_t used = 0;
            v.push_back(std::stof(item, &used));
            if (used != item.size()) throw std::invalid_argument(item);
        } catch (const std::exception&) {
            throw Error(std::string(what) + " '" + s + "': expected comma-separated numbers");
        }
    }
    if (v.empty()) throw Error(std::string(what) + " is empty");
    return v;
}
// "epochs 2 (this manifest: 10), seed 5 (3)" for the settings that differ between a checkpoint's
// recorded training and the options a manifest would train with; empty when none does or the
// checkpoint records none (TorchScript, older files).
std::string training_differences(const nlohmann::json& recorded, const zoo::TrainOptions& t) {
    if (!recorded.is_object() || recorded.empty()) return {};
    const nlohmann::json wanted = {{"epochs", t.epochs},       {"batch_size", t.batch_size},
                                   {"lr", t.lr},               {"optimizer", t.optimizer},
                                   {"momentum", t.momentum},   {"weight_decay", t.weight_decay},
                                   {"schedule", t.schedule},   {"seed", t.seed}};
    std::string out;
    for (const auto& [key, want] : wanted.items()) {
        if (!recorded.contains(key)) continue;
        const nlohmann::json& had = recorded.at(key);
        const bool same = had.is_number() && want.is_number() ? had.get<double>() == want.get<double>() : had == want;
        if (same) continue;
        out += (out.empty() ? "" : ", ") + key + " " + had.dump() + (out.empty() ? " (this manifest: " : " (") +
               want.dump() + ")";
    }
    return out;
}
}  // namespace

ModelAndData load_model_and_data(const std::string& model_path, const std::string& dataset,
                                 const std::string& data_dir, const InputOptions& input) {
    ModelAndData r;
    const bool script = zoo::is_torchscript_file(model_path);
    zoo::InputHint hint;
    if (script) {
        const ImageShape native = hawx::native_image_shape(dataset.empty() ? std::string("fashion-mnist") : dataset);
        hint.size = input.size;
        hint.size_from = input.size_from;
        hint.native_size = native.size;
        hint.channels = native.channels;
    }
    r.net = zoo::load_any_model(model_path, &r.meta, std::nullopt, hint);
    if (!script && input.size > 0 && input.size != r.meta.options.input_size)
        throw Error(input.size_from + " " + std::to_string(input.size) + " differs from the input size " +
                    std::to_string(r.meta.options.input_size) + " of " + model_path + " (a hawx checkpoint)");
    const std::string ds = !dataset.empty() ? dataset : r.meta.training.value("dataset", std::string("fashion-mnist"));
    const std::string dir = !data_dir.empty() ? data_dir : r.meta.training.value("data_dir", std::string());
    r.data = hawx::load_dataset(ds, dir, r.meta.options.input_size, r.meta.training.value("seed", std::uint64_t{1}));
    const std::size_t val_size = r.meta.training.value("val_size", std::size_t{0});
    if (val_size >= r.data.train.size()) throw Error(model_path + ": validation split larger than " + r.data.train.name);
    r.train = hawx::head(r.data.train, r.data.train.size() - val_size);
    if (!r.meta.input) {
        if (!script) throw Error(model_path + ": has no input specification (not written by hawx train)");
        hawx::InputSpec spec = hawx::input_spec_from_data(r.train, r.meta.options.in_channels, r.meta.options.input_size);
        if (!input.mean.empty()) spec.mean = floats(input.mean, "--input-mean");
        if (!input.std.empty()) spec.std = floats(input.std, "--input-std");
        r.meta.input = spec;
        const auto* sn = dynamic_cast<const zoo::ScriptNetwork*>(r.net.get());
        std::ostringstream line;
        line << model_path << ": input " << spec.channels << "x" << spec.size << "x" << spec.size << " ("
             << (sn ? sn->input_origin() : std::string("?")) << "); " << ds << ": "
             << hawx::describe_geometry(r.train, spec) << "; normalisation " << (input.mean.empty() && input.std.empty() ? "from the training data's statistics"
                                                                               : "as given");
        std::cout << line.str() << "\n";
    } else if (!input.mean.empty() || !input.std.empty()) {
        throw Error("--input-mean/--input-std apply to TorchScript models; " + model_path +
                    " records its own normalisation");
    }
    return r;
}

Workbench prepare_workbench(const Experiment& ex) {
    namespace fs = std::filesystem;
    const ModelSpec& ms = *ex.model;
    const ExperimentSpec& spec = *ex.spec;
    const std::string& file = ex.file;
    // --- the cached checkpoint, trained first (by rank 0) when absent.
    const bool cached = fs::exists(ms.checkpoint);
    if (mpi::world().rank == 0 && !cached) {
        if (ms.arch.empty())
            throw Error(file + ": model: checkpoint " + ms.checkpoint + " not found (give model.arch to train it)");
        std::cout << "\n== training " << ms.arch << " (no checkpoint at " << ms.checkpoint << ")\n";
        fs::create_directories(fs::path(ms.checkpoint).parent_path());
        TrainRequest req;
        req.model = ms.arch;
        req.dataset = spec.dataset.name;
        req.data_dir = spec.dataset.dir;
        req.width = ms.width;
        req.input_size = ms.input_size > 0 ? ms.input_size : 32;
        req.options = train_options_from(ms.arch, spec.training, ex.manifest->seed);
        if (spec.dataset.validation >= 0) req.val_size = static_cast<std::size_t>(spec.dataset.validation);
        req.val_size_name = file + ": dataset.validation";
        req.out = ms.checkpoint;
        train_checkpoint(req);
    }
    mpi::barrier();
    Workbench w;
    InputOptions in;
    in.mean = ms.input_mean;
    in.std = ms.input_std;
    in.size = ms.input_size;
    in.size_from = file + ": model.input_size";
    w.md = load_model_and_data(ms.checkpoint, spec.dataset.name, spec.dataset.dir, in);
    ModelAndData& md = w.md;
    if (!ms.arch.empty() && md.meta.model != ms.arch)
        throw Error(ms.checkpoint + ": holds model " + md.meta.model + ", but the manifest's model.arch is " + ms.arch);
    if (cached && !ms.arch.empty() && mpi::world().rank == 0)
        if (const std::string d = training_differences(md.meta.training, train_options_from(ms.arch, spec.training,
                                                                                            ex.manifest->seed));
            !d.empty())
            // Two manifests naming one checkpoint with different training settings get the
            // network of whichever ran first: say so rather than let the settings pass for used.
            std::cout << "note: " << ms.checkpoint << " was trained with " << d
                      << " (this manifest's training settings are not used for a cached checkpoint; name another "
                         "model.checkpoint to train with them)\n";
    // Selection on a validation split held out from training; the test set only reports.
    const std::size_t held_out = md.data.train.size() - md.train.size();
    std::size_t n_val = held_out;
    if (spec.dataset.validation >= 0) {
        n_val = static_cast<std::size_t>(spec.dataset.validation);
        if (held_out > 0 && n_val > held_out)
            throw Error(file + ": dataset.validation " + std::to_string(n_val) + " exceeds the " +
                        std::to_string(held_out) + " images " + ms.checkpoint + " held out from training");
    } else if (held_out == 0) {
        n_val = std::min<std::size_t>(5000, md.data.train.size() / 10);
    }
    if (n_val == 0 || n_val >= md.data.train.size())
        throw Error(file + ": dataset.validation must be in [1, " + std::to_string(md.data.train.size() - 1) + "]");
    w.train_part = held_out > 0 ? md.train : head(md.data.train, md.data.train.size() - n_val);
    w.val = split_train_val(md.data.train, n_val).second;
    w.val_n = spec.dataset.validation_limit ? std::min(spec.dataset.validation_limit, w.val.size()) : w.val.size();
    w.test_n = spec.dataset.test_limit ? std::min(spec.dataset.test_limit, md.data.test.size()) : md.data.test.size();
    w.profile_set = head(w.train_part, spec.profile_images);
    if (static_cast<std::size_t>(spec.representatives) > w.profile_set.size())
        throw Error(file + ": profiling.representatives " + std::to_string(spec.representatives) +
                    " is larger than the profiling set (" + std::to_string(w.profile_set.size()) + " images)");
    // Layer shapes (one float forward of one image), so that the accelerator models can refuse
    // a network they cannot host before anything is written.
    zoo::fold_batchnorm(*md.net);
    md.net->eval();
    w.shapes = zoo::layer_shapes(*md.net, to_input(w.val, 0, 1, *md.meta.input));
    return w;
}

}  // namespace hawx::pipeline
