#pragma once
// Approximation-aware fine-tuning: the float weights trained through the bit-exact
// approximate forward of one configuration (engine Mode::Train), shared by `hawx finetune`
// and the experiment pipeline.
#include <cstddef>
#include <functional>
#include <string>

#include "hawx/data/dataset.hpp"
#include "hawx/data/tensor.hpp"
#include "hawx/engine/engine.hpp"
#include "hawx/zoo/evaluate.hpp"
#include "hawx/zoo/network.hpp"
#include "hawx/zoo/train.hpp"

namespace hawx::pipeline {

struct FinetuneData {
    const Dataset* train = nullptr;  ///< images trained on (never the validation or test images)
    const Dataset* calibration = nullptr;  ///< activation ranges, before and after
    std::size_t calibration_n = 2000;
    const Dataset* val = nullptr;    ///< accuracy after each epoch (may be null)
    std::size_t val_n = 0;           ///< 0: all of val
    hawx::InputSpec spec;
    std::size_t eval_batch = 256;
};

/// Accuracy of one network state on the validation and test images.
struct FinetuneEval {
    zoo::EvalResult val, test;
};

/// Fine-tunes `net` (BatchNorm folded, as evaluation computes it) with `engine` in Train mode
/// under `assignment`: calibrates on data.calibration, trains with `options` (its `folded`
/// set; resumable through options.state_path) with those activation ranges fixed, and leaves
/// the engine in Quantized mode under `assignment` with the same ranges (the weights were
/// trained for them: re-calibrating afterwards can undo the fine-tune, see EXPERIMENTS.md;
/// call zoo::calibrate to re-calibrate). `on_epoch` receives each epoch's statistics and the
/// approximate validation accuracy. Throws hawx::Error as zoo::train does.
zoo::TrainResult finetune(zoo::Network& net, engine::Engine& engine, const engine::ModelAssignment& assignment,
                          const FinetuneData& data, zoo::TrainOptions options,
                          const std::function<void(const zoo::EpochStats&, const zoo::EvalResult&)>& on_epoch = {});

}  // namespace hawx::pipeline
