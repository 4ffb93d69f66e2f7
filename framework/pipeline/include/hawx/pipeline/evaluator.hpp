#pragma once
/// \file
/// Full accuracy evaluations of configurations on the validation split: the prefix cache of
/// layer outputs, the run's accuracy memo (shared by every strategy and threshold, filled
/// from the run folder's search logs on resume), the spread over MPI ranks, and the
/// search's batch evaluator with statuses (exploration.on_error).
///
/// What each layer of evaluation state is for: the prefix cache (engine) reuses layer
/// outputs between configurations that share a prefix; the memo (here) never evaluates a
/// configuration twice in a run; the search driver's cache and log decide what counts as a
/// strategy's evaluation and make a search replayable.
#include <cstddef>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <hawx/sdk/search.hpp>

#include "hawx/data/tensor.hpp"
#include "hawx/engine/engine.hpp"
#include "hawx/engine/prefix_cache.hpp"
#include "hawx/framework/manifest.hpp"
#include "hawx/framework/search_driver.hpp"
#include "hawx/pipeline/cost_model.hpp"
#include "hawx/pipeline/finetune.hpp"
#include "hawx/zoo/evaluate.hpp"
#include "hawx/zoo/network.hpp"
#include "hawx/zoo/staged_evaluator.hpp"

namespace hawx::pipeline {

/// The images an accuracy is measured on.
struct EvalData {
    const Dataset* images = nullptr;
    std::size_t count = 0;  ///< the first `count` images
    const InputSpec* spec = nullptr;
    std::size_t batch_size = 256;
};

class Evaluator {
public:
    /// `net` must be BatchNorm-folded and calibrated on `engine`. `copy_outputs`: the network
    /// may modify a layer output in place (TorchScript), so cached outputs are handed out as copies.
    Evaluator(zoo::Network& net, engine::Engine& engine, EvalData validation, std::vector<std::string> block_names,
              bool copy_outputs);

    /// Accuracy of the engine's current assignment on `data` (no cache).
    zoo::EvalResult evaluate(const Dataset& data, std::size_t count) const;

    /// Validation accuracy of one configuration in this process. Outputs are cached by
    /// configuration prefix, so configurations in lexicographic order compute each layer once
    /// per distinct prefix: a zoo network runs from its deepest cached stage
    /// (zoo::StagedEvaluator); a network without stages reuses cached layer outputs
    /// (engine::PrefixCachingRunner) but runs every other operation.
    double local_accuracy(const Configuration& c);

    /// MPI ranks > 0: evaluate what rank 0 sends until it says stop.
    void serve();

    /// Puts every accuracy of the search logs in `search_dir` that belong to experiment `hash`
    /// into the memo (a log killed while its header was written has none and is passed over;
    /// `finetuned`: the logs hold accuracies after fine-tuning, exploration.finetune_in_loop).
    /// `evaluated_as(header, key)`, when given, names the configuration whose accuracy a log line
    /// of configuration `key` holds (below layer granularity, what the log's objective
    /// accelerator realizes); the memo keeps the accuracy under that name.
    /// Returns how many distinct configurations it now knows.
    using EvaluatedAs = std::function<std::string(const nlohmann::json& header, const std::string& key)>;
    std::size_t recall_logs(const std::string& search_dir, const std::string& hash, bool finetuned = false,
                            const EvaluatedAs& evaluated_as = {});

    /// Fine-tunes configurations for finetuned() and the evaluations that ask for it (not
    /// owned; must outlive this evaluator's use).
    void set_finetuner(Finetuner* finetuner) { finetuner_ = finetuner; }
    /// The validation accuracy of `c` before (memo or evaluated) and after fine-tuning, and
    /// with `test` the accuracy after on its first `test_n` images. Needs set_finetuner.
    FinetuneOutcome finetuned(const Configuration& c, const Dataset* test = nullptr, std::size_t test_n = 0);
    /// What a search log line of configuration `key` records beyond its outcome: when it was
    /// judged after fine-tuning, the accuracy before and the fine-tune's seconds; else null.
    nlohmann::json log_annotation(const std::string& key) const;
    /// Mean seconds of the fine-tunes made by finetuned() in this process (0: none).
    double mean_finetune_seconds() const;

    /// Called after each configuration evaluated here (its position in `batch` and accuracy);
    /// returns the status text of the progress display (e.g. the best so far).
    using Progress = std::function<std::string(std::size_t, double)>;

    /// Validation accuracies of `batch` (memo first; the rest over the MPI ranks, or here
    /// with a progress display: a bar on a terminal, else a line every few seconds), in order.
    /// `finetuned`: each after fine-tuning it (finetuned(); always in this process).
    std::vector<double> accuracies(const std::vector<Configuration>& batch, const Progress& progress = {},
                                   bool finetuned = false);

    /// The search's evaluator: each configuration's cost on accelerator `objective` of `costs`
    /// and the accuracy of the configuration that accelerator realizes (CostModel::cost: the
    /// mapping may regroup units below layer granularity). A configuration the accelerator cannot cost is Skipped without an
    /// accuracy evaluation; a non-finite accuracy stops the run (on_error = stop) or is Failed.
    /// `threshold` (percent) only labels the progress display's best so far. `finetuned`: the
    /// accuracy after fine-tuning (exploration.finetune_in_loop).
    BatchEvaluator for_search(CostModel& costs, OnError on_error, std::size_t objective = 0,
                              double threshold = std::numeric_limits<double>::quiet_NaN(), bool finetuned = false);

    std::size_t memo_size() const { return memo_.size(); }

private:
    zoo::Network& net_;
    engine::Engine& engine_;
    EvalData val_;
    std::vector<std::string> names_;
    engine::PrefixCachingRunner cache_;             // networks without stages (TorchScript)
    std::unique_ptr<zoo::StagedEvaluator> staged_;  // zoo networks, made on first use
    std::string tag_;
    std::map<std::string, double> memo_;
    std::map<std::string, double> tuned_memo_;       // accuracies after fine-tuning
    std::map<std::string, std::string> evaluated_as_;  // asked -> realized by the objective accelerator, where they differ
    std::map<std::string, double> tuned_seconds_;    // fine-tunes made in this process
    Finetuner* finetuner_ = nullptr;
};

}  // namespace hawx::pipeline
