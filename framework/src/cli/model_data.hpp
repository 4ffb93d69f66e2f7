#pragma once
// The model and data a CLI command works on: a hawx checkpoint or a TorchScript file, the
// dataset it was trained on (or the one given), and the training split without the
// validation images.
#include <memory>
#include <string>

#include "hawx/zoo/checkpoint.hpp"
#include "hawx/zoo/datasets.hpp"
#include "hawx/zoo/network.hpp"

namespace hawx::cli {

struct ModelAndData {
    std::shared_ptr<zoo::Network> net;
    zoo::CheckpointMeta meta;  ///< meta.input is always set
    zoo::DatasetSplits data;
    Dataset train;             ///< data.train without the validation split
};

/// `dataset`/`data_dir` empty: the checkpoint's. A TorchScript model takes its input
/// normalisation from the training data's per-channel statistics unless `mean`/`std` are
/// given (comma-separated, one value or one per channel).
ModelAndData load_model_and_data(const std::string& model_path, const std::string& dataset,
                                 const std::string& data_dir, const std::string& mean, const std::string& std);

}  // namespace hawx::cli
