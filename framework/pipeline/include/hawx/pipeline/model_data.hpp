#pragma once
// The model and data a CLI command works on: a hawx checkpoint or a TorchScript file, the
// dataset it was trained on (or the one given), and the training split without the
// validation images.
#include <memory>
#include <string>

#include "hawx/zoo/checkpoint.hpp"
#include "hawx/data/datasets.hpp"
#include "hawx/zoo/network.hpp"
#include "hawx/pipeline/experiment.hpp"

namespace hawx::pipeline {

struct ModelAndData {
    std::shared_ptr<zoo::Network> net;
    zoo::CheckpointMeta meta;  ///< meta.input is always set
    hawx::DatasetSplits data;
    Dataset train;             ///< data.train without the validation split
};

/// How a TorchScript model's input is made (a hawx checkpoint records its own).
struct InputOptions {
    std::string mean, std;  ///< normalisation, comma-separated, one value or one per channel; empty: data statistics
    int size = 0;           ///< square input size; 0: the dataset's native size if the model accepts it, else probed
    std::string size_from = "--input-size";  ///< how messages name `size`
};

/// `dataset`/`data_dir` empty: the checkpoint's (fashion-mnist for a TorchScript model).
/// Prints where a TorchScript model's input shape and normalisation came from. Throws
/// hawx::Error for input options given with a hawx checkpoint that disagree with it.
ModelAndData load_model_and_data(const std::string& model_path, const std::string& dataset,
                                 const std::string& data_dir, const InputOptions& input = {});

/// The model and data of an experiment, ready for the method: the checkpoint (trained by
/// rank 0 and cached when missing and model.arch is given), the selection split, the
/// profiling set, the network with BatchNorm folded in eval mode, and its layer shapes.
struct Workbench {
    ModelAndData md;
    Dataset train_part;       ///< training images the model saw (calibration, profiling)
    Dataset val;              ///< the validation split (selection)
    std::size_t val_n = 0;    ///< validation images evaluated (dataset.validation_limit)
    std::size_t test_n = 0;   ///< test images reported on (dataset.test_limit)
    Dataset profile_set;      ///< clustered for representatives
    std::vector<LayerShape> shapes;
};
/// Throws hawx::Error naming the manifest for a missing checkpoint without arch, a model other
/// than model.arch, a validation size the checkpoint's split cannot give, or more
/// representatives than profiling images.
Workbench prepare_workbench(const Experiment& ex);

}  // namespace hawx::pipeline
