#pragma once
// Approximation-aware fine-tuning: the float weights trained through the bit-exact
// approximate forward of one configuration (engine Mode::Train), shared by `hawx finetune`
// and the experiment pipeline.
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hawx/data/dataset.hpp"
#include "hawx/data/tensor.hpp"
#include "hawx/engine/engine.hpp"
#include "hawx/zoo/checkpoint.hpp"
#include "hawx/zoo/evaluate.hpp"
#include "hawx/zoo/network.hpp"
#include "hawx/zoo/train.hpp"

namespace hawx::pipeline {

struct FinetuneData {
    const Dataset* train = nullptr;  ///< images trained on (never the validation or test images)
    const Dataset* calibration = nullptr;  ///< activation ranges, before and after
    std::size_t calibration_n = 2000;
    bool calibrate = true;  ///< false: keep the engine's ranges (it must be calibrated)
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
/// under `assignment`: calibrates on data.calibration (unless data.calibrate is false), trains with `options` (its `folded`
/// set; resumable through options.state_path) with those activation ranges fixed, and leaves
/// the engine in Quantized mode under `assignment` with the same ranges (the weights were
/// trained for them: re-calibrating afterwards can undo the fine-tune, see EXPERIMENTS.md;
/// call zoo::calibrate to re-calibrate). `on_epoch` receives each epoch's statistics and the
/// approximate validation accuracy. Throws hawx::Error as zoo::train does.
zoo::TrainResult finetune(zoo::Network& net, engine::Engine& engine, const engine::ModelAssignment& assignment,
                          const FinetuneData& data, zoo::TrainOptions options,
                          const std::function<void(const zoo::EpochStats&, const zoo::EvalResult&)>& on_epoch = {});

/// The activation ranges a fine-tuned checkpoint was trained with (`hawx finetune` stores them
/// in training.finetune.ranges), or null. Re-calibrating on the fine-tuned weights can undo
/// the fine-tune (EXPERIMENTS.md), so commands use them unless told to calibrate.
const nlohmann::json* finetuned_ranges(const zoo::CheckpointMeta& meta);

/// `net` BatchNorm-folded in eval mode, run by `engine` in Quantized mode with `ranges`
/// (engine::Engine::calibration_json) instead of calibrating.
void use_ranges(zoo::Network& net, engine::Engine& engine, const nlohmann::json& ranges);

/// What fine-tuning one configuration gave (accuracies in percent).
struct FinetuneOutcome {
    double val_before = 0, val_after = 0;  ///< on FinetuneData::val (its first val_n images)
    zoo::EvalResult test_after;            ///< total == 0: not measured
    double seconds = 0;                    ///< the fine-tune alone
    std::vector<zoo::EpochStats> history;  ///< EpochStats::val: the approximate validation accuracy
};

/// Fine-tunes configurations of one experiment, each from the same starting weights and
/// activation ranges, which it puts back (bit for bit) after each, so that every other
/// evaluation of the run, and its caches of layer outputs, stay valid. The fine-tuned weights
/// of a configuration are kept (within a memory budget) so that a later test measurement does
/// not train again; a configuration dropped from the budget is trained again (same seed, same
/// weights). For the experiment pipeline: answers fine-tuned after a search, and searches
/// that judge configurations by their fine-tuned accuracy (exploration.finetune_in_loop).
class Finetuner {
public:
    /// `net` BatchNorm-folded and calibrated on `engine` with the ranges that every evaluation
    /// of the run uses; `data.val` set (the accuracy after fine-tuning is measured there).
    Finetuner(zoo::Network& net, engine::Engine& engine, FinetuneData data, zoo::TrainOptions options,
              std::size_t budget_bytes = std::size_t{256} << 20);

    /// Fine-tunes `assignment` (once per `key`), measures the validation accuracy and, with
    /// `test`, the accuracy on its first `test_n` images (all when 0); val_before is left 0.
    FinetuneOutcome run(const std::string& key, const engine::ModelAssignment& assignment,
                        const Dataset* test = nullptr, std::size_t test_n = 0);

    const zoo::TrainOptions& options() const { return options_; }

private:
    struct Snapshot {
        std::vector<at::Tensor> tensors;  // parameters, then buffers
        nlohmann::json ranges;            // engine::Engine::calibration_json
        std::size_t bytes = 0;
    };
    Snapshot take() const;
    void put(const Snapshot& s);

    zoo::Network& net_;
    engine::Engine& engine_;
    FinetuneData data_;
    zoo::TrainOptions options_;
    std::size_t budget_ = 0, kept_ = 0;
    Snapshot start_;
    std::map<std::string, FinetuneOutcome> done_;
    std::map<std::string, Snapshot> tuned_;
};

}  // namespace hawx::pipeline
