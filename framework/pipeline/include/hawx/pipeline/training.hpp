#pragma once
// Training a zoo model into a checkpoint: shared by `hawx train` and the experiment pipeline
// (which trains when a manifest's checkpoint is not cached yet).
#include <cstddef>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "hawx/zoo/train.hpp"

namespace hawx::pipeline {

struct TrainRequest {
    std::string model, dataset = "fashion-mnist", data_dir;
    double width = 1.0;
    int input_size = 32;
    zoo::TrainOptions options;           ///< val_size is set from `val_size` (default: min(5000, a tenth))
    std::optional<std::size_t> val_size;
    std::string val_size_name = "--val-size";  ///< how errors name the validation size
    std::string out;                     ///< checkpoint file
};

/// Loads the data, trains (printing one line per epoch), evaluates on the test set and
/// writes the checkpoint atomically. Throws hawx::Error for bad settings.
void train_checkpoint(const TrainRequest& request);

/// `model`'s default options overridden by a manifest's `training` object (keys already
/// validated by the manifest parser); `seed` and `threads` (0: all cores) as given.
zoo::TrainOptions train_options_from(const std::string& model, const nlohmann::json& training, std::uint64_t seed);

}  // namespace hawx::pipeline
