#include "hawx/zoo/checkpoint.hpp"

#include <torch/csrc/jit/serialization/pickle.h>

#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include "hawx/framework/io.hpp"
#include "hawx/sdk/error.hpp"
#include "torch_file.hpp"

namespace hawx::zoo {

namespace {

using Entries = std::vector<std::pair<std::string, at::Tensor>>;

constexpr const char* kFormat = "hawx.checkpoint";
constexpr int kFormatVersion = 1;

std::string shape(at::IntArrayRef s) {
    std::ostringstream os;
    os << s;
    return os.str();
}

bool all_finite(const at::Tensor& t) {
    return !at::isFloatingType(t.scalar_type()) || t.numel() == 0 || at::isfinite(t).all().item<bool>();
}

// Parameters then buffers, with their qualified names (PyTorch's state_dict keys).
Entries state_of(Network& net) {
    Entries out;
    for (const auto& p : net.named_parameters(/*recurse=*/true)) out.emplace_back(p.key(), p.value());
    for (const auto& b : net.named_buffers(/*recurse=*/true)) out.emplace_back(b.key(), b.value());
    return out;
}

std::string more(std::size_t n) { return n > 1 ? " (and " + std::to_string(n - 1) + " more)" : ""; }

// Checks every key, shape and value first, then copies: a failed load changes nothing.
void apply_state(Network& net, const Entries& given, const std::string& path) {
    const Entries targets = state_of(net);
    std::map<std::string, const at::Tensor*> by_name;
    for (const auto& [k, t] : given)
        if (k != kCheckpointMetaKey) by_name[k] = &t;
    std::set<std::string> expected;
    for (const auto& [k, t] : targets) expected.insert(k);

    std::vector<std::string> missing, unexpected;
    for (const auto& [k, t] : targets)
        if (!by_name.count(k) && !(k.size() >= 19 && k.compare(k.size() - 19, 19, "num_batches_tracked") == 0))
            missing.push_back(k);
    for (const auto& [k, t] : by_name)
        if (!expected.count(k)) unexpected.push_back(k);
    if (!missing.empty())
        throw Error(path + ": missing key '" + missing.front() + "'" + more(missing.size()) + " for " +
                    net.model_name());
    if (!unexpected.empty())
        throw Error(path + ": unexpected key '" + unexpected.front() + "'" + more(unexpected.size()) + " for " +
                    net.model_name());
    for (const auto& [k, t] : targets) {
        const auto it = by_name.find(k);
        if (it == by_name.end()) continue;
        const at::Tensor& src = *it->second;
        if (src.sizes() != t.sizes())
            throw Error(path + ": key '" + k + "' has shape " + shape(src.sizes()) + ", " + net.model_name() +
                        " expects " + shape(t.sizes()));
        if (!all_finite(src)) throw Error(path + ": key '" + k + "' contains NaN or Inf");
    }
    torch::NoGradGuard no_grad;
    for (const auto& [k, t] : targets) {
        const auto it = by_name.find(k);
        if (it != by_name.end()) t.copy_(*it->second);
    }
}

nlohmann::json to_json(const ModelOptions& o) {
    return {{"in_channels", o.in_channels}, {"input_size", o.input_size}, {"num_classes", o.num_classes},
            {"width", o.width}};
}

nlohmann::json to_json(const hawx::InputSpec& s) {
    return {{"channels", s.channels}, {"size", s.size}, {"mean", s.mean}, {"std", s.std}};
}

CheckpointMeta parse_meta(const std::string& path, const Entries& entries) {
    const at::Tensor* raw = nullptr;
    for (const auto& [k, t] : entries)
        if (k == kCheckpointMetaKey) raw = &t;
    if (!raw)
        throw Error(path + ": not a hawx checkpoint (no '" + std::string(kCheckpointMetaKey) +
                    "' entry; to import a PyTorch state_dict use load_state_dict)");
    if (raw->scalar_type() != at::kByte || raw->dim() != 1)
        throw Error(path + ": malformed '" + std::string(kCheckpointMetaKey) + "' entry (expected a uint8 vector)");
    const at::Tensor bytes = raw->contiguous();
    const std::string text(reinterpret_cast<const char*>(bytes.data_ptr<std::uint8_t>()),
                           static_cast<std::size_t>(bytes.numel()));
    CheckpointMeta m;
    try {
        const nlohmann::json j = nlohmann::json::parse(text);
        if (j.at("format").get<std::string>() != kFormat) throw Error("format");
        const int version = j.at("version").get<int>();
        if (version > kFormatVersion)
            throw Error(path + ": checkpoint format version " + std::to_string(version) +
                        " is newer than this build reads (" + std::to_string(kFormatVersion) + ")");
        m.model = j.at("model").get<std::string>();
        const auto& o = j.at("options");
        m.options.in_channels = o.at("in_channels").get<int>();
        m.options.input_size = o.at("input_size").get<int>();
        m.options.num_classes = o.at("num_classes").get<int>();
        m.options.width = o.at("width").get<double>();
        m.batchnorm_folded = j.value("batchnorm_folded", false);
        if (j.contains("input") && !j.at("input").is_null()) {
            const auto& s = j.at("input");
            hawx::InputSpec spec;
            spec.channels = s.at("channels").get<int>();
            spec.size = s.at("size").get<int>();
            spec.mean = s.at("mean").get<std::vector<float>>();
            spec.std = s.at("std").get<std::vector<float>>();
            m.input = spec;
        }
        if (j.contains("training")) m.training = j.at("training");
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": malformed checkpoint metadata (" + std::string(e.what()) + ")");
    } catch (const Error& e) {
        if (std::string(e.what()) == "format") throw Error(path + ": not a hawx checkpoint (unknown format)");
        throw;
    }
    return m;
}

void check_matches(Network& net, const CheckpointMeta& m, const std::string& path) {
    if (m.model != net.model_name())
        throw Error(path + ": checkpoint holds model '" + m.model + "', not '" + net.model_name() + "'");
    if (m.options != net.model_options())
        throw Error(path + ": checkpoint options (" + m.options.to_string() + ") differ from the network's (" +
                    net.model_options().to_string() + ")");
    if (net.batchnorm_folded() && !m.batchnorm_folded)
        throw Error(path + ": checkpoint has unfolded BatchNorm but the network is folded (load before folding)");
}

}  // namespace

void save_checkpoint(Network& net, const std::string& path, const std::optional<hawx::InputSpec>& input,
                     const nlohmann::json& training) {
    c10::Dict<std::string, at::Tensor> dict;
    for (const auto& [k, t] : state_of(net)) {
        if (!all_finite(t)) throw Error(path + ": not saved, '" + k + "' contains NaN or Inf");
        dict.insert(k, t.detach());
    }
    nlohmann::json meta = {{"format", kFormat},
                           {"version", kFormatVersion},
                           {"model", net.model_name()},
                           {"options", to_json(net.model_options())},
                           {"batchnorm_folded", net.batchnorm_folded()},
                           {"input", input ? to_json(*input) : nlohmann::json()},
                           {"training", training}};
    const std::string text = meta.dump();
    at::Tensor bytes = at::empty({static_cast<std::int64_t>(text.size())}, at::kByte);
    std::memcpy(bytes.data_ptr<std::uint8_t>(), text.data(), text.size());
    dict.insert(kCheckpointMetaKey, bytes);
    const std::vector<char> data = torch::jit::pickle_save(c10::IValue(dict));
    write_file_atomic(path, std::string(data.begin(), data.end()));
}

CheckpointMeta read_checkpoint_meta(const std::string& path) {
    return parse_meta(path, detail::read_torch_state_dict(path));
}

CheckpointMeta load_checkpoint(Network& net, const std::string& path) {
    const Entries entries = detail::read_torch_state_dict(path);
    const CheckpointMeta meta = parse_meta(path, entries);
    check_matches(net, meta, path);
    if (meta.batchnorm_folded && !net.batchnorm_folded()) fold_batchnorm(net);
    apply_state(net, entries, path);
    return meta;
}

std::shared_ptr<Network> load_model(const std::string& path, CheckpointMeta* meta_out) {
    const Entries entries = detail::read_torch_state_dict(path);
    const CheckpointMeta meta = parse_meta(path, entries);
    std::shared_ptr<Network> net;
    try {
        net = make_model(meta.model, meta.options);
    } catch (const Error& e) {
        throw Error(path + ": " + e.what());
    }
    if (meta.batchnorm_folded) fold_batchnorm(*net);
    apply_state(*net, entries, path);
    net->eval();
    if (meta_out) *meta_out = meta;
    return net;
}

void load_state_dict(Network& net, const std::string& path) {
    apply_state(net, detail::read_torch_state_dict(path), path);
}

}  // namespace hawx::zoo
