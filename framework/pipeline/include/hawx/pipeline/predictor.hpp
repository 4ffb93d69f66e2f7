#pragma once
/// \file
/// The drop predictor behind SearchProblem::predict_drop: every block in every layer measured
/// alone on training images (never the validation or test split), and a configuration's
/// predicted accuracy drop the sum of its layers' single-layer drops. On the hard ladder this
/// ranks configurations better than summed hawx scores (EXPERIMENTS.md, issue 17 section),
/// because a measured drop weighs layers by what the network actually absorbs; the sum of
/// per-image margin shifts and a Gaussian margin model were tried and ranked worse.
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
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
    /// indices; `exact` is skipped), the accuracy and loss with that block in that layer alone, on the
    /// first `count` images of `images` (all when 0): 1 + layers x blocks forward passes
    /// through a staged evaluator (a layer's passes rerun only the stages from that layer
    /// on). With `block_power` (per library block), one pass more for the free-moves check
    /// (free_moves; not counted in passes()). `net` must be BatchNorm-folded and `engine`
    /// calibrated; the engine's assignment is left all-exact.
    static DropPredictor measure(zoo::Network& net, engine::Engine& engine, const Dataset& images, std::size_t count,
                                 const InputSpec& spec, std::size_t batch_size, const std::vector<int>& blocks,
                                 int exact, const std::vector<double>& block_power = {});

    /// Noise: a layer with a cheap block can classify a few more of the measured images
    /// correctly than the exact network; such negative drops are set to 0 (no configuration
    /// gains accuracy by approximating, and an additive model would take every such move as
    /// a gain). Every drop measured at or below 0 is then replaced by max(0, kappa x the
    /// layer's increase of the mean cross-entropy loss with that block) (measured in the same
    /// passes; continuous where the accuracy counts images), kappa the least-squares slope of
    /// drop on loss increase through the origin over the drops in (0, cap] with a positive loss
    /// increase. A move that changes no image's class alone then still costs in proportion to
    /// how much it perturbs the outputs: on ResNet-18 many such moves measured 0.00 alone and
    /// lost 6.7 points together. Drops measured above 0 are kept. Returns kappa (0 when no
    /// losses were measured or nothing to fit: then only the clamp applies). With no drop in
    /// (0, cap] but free moves measured together (free_moves().measured > 0), kappa is their
    /// measured drop over their summed loss increases (the one calibration point there is).
    double floor_by_loss(double cap);

    /// Saturation: a block that costs a layer more than `cap` points has collapsed the network
    /// on its own, and its measured drop (at most the distance to chance) says nothing about
    /// how much a few of the layer's units with that block cost. For such blocks the drop is
    /// extrapolated from the layer's most damaging block measured below `cap`, in proportion to
    /// the layers' score sums (`layer_score_sums[l][b]`), when that is larger than measured.
    /// Returns the number of (layer, block) drops raised.
    std::size_t extrapolate_saturated(const std::vector<std::vector<double>>& layer_score_sums, double cap);

    /// A predictor from known single-layer drops (drops[layer][block], points) and, optionally,
    /// loss increases of the same shape, e.g. measured elsewhere or in tests.
    static DropPredictor from_drops(std::vector<std::vector<double>> drops, double exact_accuracy, std::size_t images,
                                    std::vector<std::vector<double>> loss_increases = {});

    std::size_t images() const { return images_; }
    /// Forward passes the measurement took (each over images() images).
    std::size_t passes() const { return passes_; }
    /// Accuracy (percent) of the exact network on the measured images.
    double exact_accuracy() const { return exact_accuracy_; }
    /// Drop (points) the predictor uses for block b in layer l alone; 0 for blocks not measured.
    double layer_drop(std::size_t l, int b) const;
    /// Drop (points) as measured, before any adjustment (may be negative: noise).
    double measured_drop(std::size_t l, int b) const;
    /// Increase of the mean cross-entropy loss with block b in layer l alone (0 when not measured).
    double loss_increase(std::size_t l, int b) const;

    /// The table as CSV (layer, name, block, measured, loss_increase, used), for the run folder.
    std::string table_csv(const std::vector<std::string>& layer_names, const std::vector<std::string>& block_names) const;

    /// Predicted drop of `c`: the sum over units of weights[l][u][b] x layer_drop(l, b) for the
    /// unit's block b (below layer granularity a unit carries its share of the layer's drop;
    /// at layer granularity the weight is 1 and `weights` may be empty).
    /// `collapse`: the sum saturates there (baseline - chance accuracy: a network falls no lower
    /// than chance, and the collapsed configurations, two thirds of the LeNet-5 hard ladder's,
    /// then tie as they do in truth; Spearman over its 32,768: -0.875 unsaturated, -0.981).
    double drop(const Configuration& c, const std::vector<std::vector<std::vector<double>>>& weights = {},
                double collapse = std::numeric_limits<double>::infinity()) const;
    /// drop() of the configuration with only unit u of layer l on block b (all else exact).
    double unit_drop(std::size_t l, std::size_t u, int b,
                     const std::vector<std::vector<std::vector<double>>>& weights = {}) const;

    /// The free-moves check (measure with block_power): in every layer the cheapest block
    /// whose drop measured <= 0, all together on the same images: how many layers had one,
    /// the sum of their single drops (what the additive model predicts) and the measured drop.
    struct FreeMoves {
        std::size_t moves = 0;
        double predicted = 0, measured = 0;
        double loss = 0;  ///< the sum of their single loss increases
    };
    const FreeMoves& free_moves() const { return free_; }
    /// The free moves as measured elsewhere (e.g. in tests).
    void set_free_moves(const FreeMoves& f) { free_ = f; }
    /// Applies floor_by_loss(cap) when the free moves together lost more than `tolerance`
    /// points beyond their summed single drops (the additive model fails on the moves the
    /// predicted front takes first); otherwise keeps the signed drops. Returns floor_by_loss's
    /// kappa when it floored, nothing when it kept the drops.
    std::optional<double> check_free_moves(double cap, double tolerance);

private:
    FreeMoves free_;
    std::vector<std::vector<double>> drop_, measured_, loss_;  // [layer][block]
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
