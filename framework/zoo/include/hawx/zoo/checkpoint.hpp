#pragma once
/// \file
/// Checkpoints of zoo networks, readable by Python's torch.load, and import of state dicts
/// saved in Python with torch.save(model.state_dict(), path).
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "hawx/data/tensor.hpp"
#include "hawx/zoo/network.hpp"

namespace hawx::zoo {

/// The reserved state-dict key under which a checkpoint keeps its metadata: a uint8 tensor
/// holding UTF-8 JSON (in Python: bytes(ck["__hawx__"].numpy()).decode()).
inline constexpr const char* kCheckpointMetaKey = "__hawx__";

/// What a checkpoint says besides the weights.
struct CheckpointMeta {
    std::string model;                 ///< make_model name
    ModelOptions options;              ///< make_model options
    bool batchnorm_folded = false;     ///< saved after fold_batchnorm
    std::optional<hawx::InputSpec> input;    ///< how images were turned into inputs in training
    nlohmann::json training = nlohmann::json::object();  ///< training settings and results
};

/// Writes the network's state dict (parameters and buffers, PyTorch names) plus metadata as
/// a torch.save-compatible file (a dict of tensors in PyTorch's zip format), atomically
/// (temporary file + rename). Throws hawx::Error naming the file if it cannot be written or a
/// weight is NaN/Inf (nothing is written then).
void save_checkpoint(Network& net, const std::string& path, const std::optional<hawx::InputSpec>& input = std::nullopt,
                     const nlohmann::json& training = nlohmann::json::object());

/// Loads a checkpoint written by save_checkpoint into `net`, checking everything before any
/// weight changes. Throws hawx::Error, one line naming the file and the problem, when the
/// file is unreadable or not a hawx checkpoint, holds another model or other options, a key
/// is missing or unexpected, a shape differs, or a value is NaN/Inf. A checkpoint of a
/// folded network folds `net` first; a folded `net` rejects an unfolded checkpoint.
CheckpointMeta load_checkpoint(Network& net, const std::string& path);

/// The metadata of a checkpoint, without a network.
CheckpointMeta read_checkpoint_meta(const std::string& path);

/// make_model from the checkpoint's metadata, then load_checkpoint. `meta` receives the
/// metadata when not null.
std::shared_ptr<Network> load_model(const std::string& path, CheckpointMeta* meta = nullptr);

/// Imports a state dict saved in Python by torch.save(model.state_dict(), path) (zip format,
/// torch >= 1.6; also a plain dict of tensors, or a dict holding one under "state_dict" or
/// "model_state_dict"). Keys and shapes must match the network's exactly (PyTorch names,
/// e.g. "features.0.weight", "bn1.running_var"); a missing "num_batches_tracked" is allowed
/// (older PyTorch). Values are converted to the parameters' dtypes. Errors as load_checkpoint.
void load_state_dict(Network& net, const std::string& path);

}  // namespace hawx::zoo
