#include "model_data.hpp"

#include <sstream>

#include "hawx/sdk/error.hpp"
#include "hawx/zoo/data.hpp"
#include "hawx/zoo/script_network.hpp"

namespace hawx::cli {

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
}  // namespace

ModelAndData load_model_and_data(const std::string& model_path, const std::string& dataset,
                                 const std::string& data_dir, const std::string& mean, const std::string& std) {
    ModelAndData r;
    const bool script = zoo::is_torchscript_file(model_path);
    r.net = zoo::load_any_model(model_path, &r.meta);
    const std::string ds = !dataset.empty() ? dataset : r.meta.training.value("dataset", std::string("fashion-mnist"));
    const std::string dir = !data_dir.empty() ? data_dir : r.meta.training.value("data_dir", std::string());
    r.data = zoo::load_dataset(ds, dir, r.meta.options.input_size, r.meta.training.value("seed", std::uint64_t{1}));
    const std::size_t val_size = r.meta.training.value("val_size", std::size_t{0});
    if (val_size >= r.data.train.size()) throw Error(model_path + ": validation split larger than " + r.data.train.name);
    r.train = zoo::head(r.data.train, r.data.train.size() - val_size);
    if (!r.meta.input) {
        if (!script) throw Error(model_path + ": has no input specification (not written by hawx train)");
        zoo::InputSpec spec = zoo::input_spec_from_data(r.train, r.meta.options.in_channels, r.meta.options.input_size);
        if (!mean.empty()) spec.mean = floats(mean, "--input-mean");
        if (!std.empty()) spec.std = floats(std, "--input-std");
        r.meta.input = spec;
    } else if (!mean.empty() || !std.empty()) {
        throw Error("--input-mean/--input-std apply to TorchScript models; " + model_path +
                    " records its own normalisation");
    }
    return r;
}

}  // namespace hawx::cli
