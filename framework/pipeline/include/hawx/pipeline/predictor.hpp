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

/// weights[l][u][b]: unit u's share of layer l's score sum under block b (equal shares where
/// the layer's sum is 0 or no metric ran): how DropPredictor::drop splits a layer's drop
/// between its units below layer granularity.
std::vector<std::vector<std::vector<double>>> unit_score_shares(const SearchProblem& problem);

}  // namespace hawx::pipeline
