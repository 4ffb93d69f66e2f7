#pragma once
/// \file
/// Accuracy of many configurations of one network on one dataset, fast: the network runs as
/// its stages (Network::run_stage), and the output of a stage is kept for the configuration
/// prefix it depends on (the blocks of layers 1..stage_last_layer), so an evaluation starts
/// from the deepest stage whose prefix is unchanged. Configurations visited depth first
/// (lexicographic, layer 1 slowest: an exhaustive sweep) then run only the stages after the
/// first changed layer, non-approximable operations included. Stages run on as many images
/// at a time as keep their outputs near 16 MiB (at least a batch), so small late stages take
/// one call for the whole set. Accuracies are identical to zoo::evaluate's with the same
/// assignment: every approximable layer computes exact integers whatever the batching, and the
/// other operations act image by image; the loss, when asked for, is summed batch by batch in
/// zoo::evaluate's order from the same logits.
#include <cstddef>
#include <vector>

#include "hawx/data/tensor.hpp"
#include "hawx/engine/engine.hpp"
#include "hawx/zoo/evaluate.hpp"
#include "hawx/zoo/network.hpp"

namespace hawx::zoo {

class StagedEvaluator {
public:
    /// `net` must be in its final form (BatchNorm folded) and `engine` calibrated; the first
    /// `count` images of `data` (all when 0) are evaluated in batches of `batch_size`.
    /// Stage outputs are kept within `budget_bytes` (the input tensors included), deepest
    /// stages first: those are the ones a depth-first sweep reuses most.
    StagedEvaluator(Network& net, engine::Engine& engine, const Dataset& data, std::size_t count,
                    const InputSpec& spec, std::size_t batch_size, std::size_t budget_bytes);

    /// Accuracy (and the loss when `with_loss`; NaN otherwise) with `assignment` (set on
    /// the engine, which runs every approximable layer).
    EvalResult evaluate(const engine::ModelAssignment& assignment, bool with_loss = false);

    std::size_t stages() const { return last_.size(); }
    /// Times stage k was run over the data since construction.
    std::size_t stage_runs(std::size_t k) const { return runs_[k]; }
    /// Seconds spent in stage k since construction.
    double stage_seconds(std::size_t k) const { return seconds_[k]; }
    /// Whether stage k's output is kept (within the budget).
    bool keeps(std::size_t k) const { return keep_[k]; }
    std::size_t kept_bytes() const { return bytes_; }

    /// Estimated seconds of an exhaustive layer-granularity sweep over `blocks` blocks in
    /// lexicographic order with this budget: stage k runs once per distinct prefix of the
    /// layers up to the first kept stage at or after it, B^min(that stage's last layer, L)
    /// times, each at its mean measured time (from the evaluations so far; at least one).
    double sweep_seconds_estimate(std::size_t blocks) const;

private:
    struct Cached {
        bool valid = false;
        std::vector<engine::LayerAssignment> prefix;  // layers 1..last of the stage
        at::Tensor output;                            // every image
    };
    bool matches(const Cached& c, const engine::ModelAssignment& a, std::size_t k) const;

    Network& net_;
    engine::Engine& engine_;
    double x_bytes(std::size_t k) const;
    at::Tensor input_, labels_;    // every image
    std::size_t images_ = 0, batch_ = 0;
    std::vector<std::size_t> per_image_;  // per stage: bytes per image of its input or output, the larger
    std::vector<int> last_;        // per stage: stage_last_layer
    std::vector<bool> keep_;
    std::vector<Cached> cache_;
    std::vector<std::size_t> runs_;
    std::vector<double> seconds_;  // per stage, summed over its runs
    std::size_t bytes_ = 0;
    int classes_ = 0;
};

}  // namespace hawx::zoo
