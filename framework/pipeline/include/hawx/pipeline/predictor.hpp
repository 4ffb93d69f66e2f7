#pragma once
/// \file
/// The drop predictor behind SearchProblem::predict_drop: every block in every layer measured
/// alone on training images (never the validation or test split), and a configuration's
/// predicted accuracy drop the sum of its layers' single-layer drops. On the hard ladder this
/// ranks configurations better than summed hawx scores (EXPERIMENTS.md, issue 17 section),
/// because a measured drop weighs layers by what the network actually absorbs; the sum of
/// per-image margin shifts and a Gaussian margin model were tried and ranked worse.
#include <cstddef>
#include <vector>

#include <hawx/sdk/configuration.hpp>
#include <hawx/sdk/search.hpp>

#include "hawx/data/datasets.hpp"
#include "hawx/data/tensor.hpp"
#include "hawx/engine/engine.hpp"
#include "hawx/zoo/network.hpp"

namespace hawx::pipeline {

class DropPredictor {
public:
    DropPredictor() = default;

    /// Measures the exact accuracy and, for every layer and every block in `blocks` (library
    /// indices; `exact` is skipped), the accuracy with that block in that layer alone, on the
    /// first `count` images of `images` (all when 0): 1 + layers x blocks forward passes
    /// through a staged evaluator (a layer's passes rerun only the stages from that layer
    /// on). `net` must be BatchNorm-folded and `engine` calibrated; the engine's assignment is
    /// left all-exact.
    static DropPredictor measure(zoo::Network& net, engine::Engine& engine, const Dataset& images, std::size_t count,
                                 const InputSpec& spec, std::size_t batch_size, const std::vector<int>& blocks,
                                 int exact);

    /// Saturation: a block that costs a layer more than `cap` points has collapsed the network
    /// on its own, and its measured drop (at most the distance to chance) says nothing about
    /// how much a few of the layer's units with that block cost. For such blocks the drop is
    /// extrapolated from the layer's most damaging block measured below `cap`, in proportion to
    /// the layers' score sums (`layer_score_sums[l][b]`), when that is larger than measured.
    /// Returns the number of (layer, block) drops raised.
    std::size_t extrapolate_saturated(const std::vector<std::vector<double>>& layer_score_sums, double cap);

    /// A predictor from known single-layer drops (drops[layer][block], points), e.g. measured
    /// elsewhere or in tests.
    static DropPredictor from_drops(std::vector<std::vector<double>> drops, double exact_accuracy, std::size_t images);

    std::size_t images() const { return images_; }
    /// Forward passes the measurement took (each over images() images).
    std::size_t passes() const { return passes_; }
    /// Accuracy (percent) of the exact network on the measured images.
    double exact_accuracy() const { return exact_accuracy_; }
    /// Measured drop (points) with block b in layer l only; 0 for blocks not measured.
    double layer_drop(std::size_t l, int b) const;

    /// Predicted drop of `c`: the sum over units of weights[l][u][b] x layer_drop(l, b) for the
    /// unit's block b (below layer granularity a unit carries its share of the layer's drop;
    /// at layer granularity the weight is 1 and `weights` may be empty).
    double drop(const Configuration& c, const std::vector<std::vector<std::vector<double>>>& weights = {}) const;

private:
    std::vector<std::vector<double>> drop_;  // [layer][block]
    double exact_accuracy_ = 0;
    std::size_t images_ = 0, passes_ = 0;
};

/// weights[l][u][b]: how DropPredictor::drop splits layer l's drop under block b between its
/// units below layer granularity: half by unit u's share of the layer's score sum, half
/// evenly (all evenly where the layer's sum is 0 or no metric ran).
std::vector<std::vector<std::vector<double>>> unit_score_shares(const SearchProblem& problem);

/// sums[l][b]: layer l's score sum under block b (its units' score sums added; empty rows
/// when no metric ran).
std::vector<std::vector<double>> layer_score_sums(const SearchProblem& problem);

}  // namespace hawx::pipeline
