#pragma once
// Helpers shared by the search strategies of hawx_search.so: portable randomness, unit
// bookkeeping, cost ranking, the best-so-far tracker and the isotonic accuracy predictor.
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <hawx/sdk/search.hpp>

namespace hawx::search {

/// std:: distributions differ between standard libraries; these draw from the raw 64-bit
/// output of mt19937_64 (which the standard fixes exactly), so a seed means the same run
/// everywhere.
class Rng {
public:
    explicit Rng(std::uint64_t seed) : engine_(seed) {}
    std::uint64_t next() { return engine_(); }
    /// Uniform in [0, n), n > 0, by rejection (no modulo bias).
    std::uint64_t below(std::uint64_t n);
    /// Uniform in [0, 1) with 53 random bits.
    double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }

private:
    std::mt19937_64 engine_;
};

/// Per-layer unit counts and flattened unit numbering (layer-major). `grouped` (and the
/// problem has unit_groups): the flat entries are the accelerator's unit groups instead, each
/// standing for all its units (make() gives them one block; flatten() reads a group's first).
struct UnitLayout {
    std::vector<std::size_t> units;   ///< entries (units, or groups) per layer
    std::vector<std::size_t> offset;  ///< first flat index of each layer
    std::size_t total = 0;
    std::vector<std::size_t> layer_units;          ///< the problem's units per layer
    std::vector<std::vector<std::size_t>> members;  ///< per flat entry: its units in the layer
    explicit UnitLayout(const SearchProblem& p, bool grouped = false);
    Configuration make(const SearchProblem& p, const std::vector<int>& flat) const;
    std::vector<int> flatten(const Configuration& c) const;
    /// The share of its layer's units entry i stands for.
    double share(std::size_t l, std::size_t i) const {
        return static_cast<double>(members[i].size()) / static_cast<double>(layer_units[l]);
    }
};

/// A configuration where every unit of layer l uses per_layer[l].
Configuration layer_uniform(const SearchProblem& p, const std::vector<int>& per_layer);

/// The cost strategies minimise: power (mW) from the accelerator model when configured,
/// else the Algorithm-1 sum of block powers (configuration_cost).
double cost_of(const SearchProblem& p, const Configuration& c);
/// The cost carried by an outcome (the driver fills it); falls back to cost_of.
double cost_of(const SearchProblem& p, const Configuration& c, const Outcome& o);

/// cost[l][b]: cost of layer l when all its units use block b, relative to block 0 on every
/// layer (marginal costs, which add up across layers; exact for configuration_cost).
std::vector<std::vector<double>> layer_costs(const SearchProblem& p);

/// Layer-level scores: mean over the layer's units of scores[l][u][b] (units of one layer
/// have equal operation counts). Throws hawx::Error when no metric ran.
std::vector<std::vector<double>> layer_scores(const SearchProblem& p, const std::string& who);

/// score_sums, or scores x operations per unit when only the means are given. Throws
/// hawx::Error when no metric ran.
std::vector<std::vector<std::vector<double>>> unit_score_sums(const SearchProblem& p, const std::string& who);

/// The block most likely to keep accuracy on layer l: the exact block when known, else the
/// lowest-score block when scores exist, else the most expensive block.
int safest_block(const SearchProblem& p, const std::vector<std::vector<double>>& lcost, std::size_t l);

/// Cheapest configuration seen that meets the threshold (first one wins ties).
class BestTracker {
public:
    void offer(const SearchProblem& p, const Configuration& c, const Outcome& o);
    const std::optional<Configuration>& best() const { return best_; }
    double best_cost() const { return cost_; }

private:
    std::optional<Configuration> best_;
    double cost_ = 0;
};

/// Non-increasing least-squares fit of accuracy against summed score (pool adjacent
/// violators), interpolated linearly between the pooled points: the predictive accuracy
/// model calibrated from the evaluations done so far.
class IsotonicModel {
public:
    void add(double x, double y) { xs_.push_back(x), ys_.push_back(y), fitted_ = false; }
    std::size_t size() const { return xs_.size(); }
    /// Predicted accuracy at x (clamped to the end values outside the data); NaN when empty.
    double predict(double x);
    /// Largest x whose predicted accuracy is >= threshold, by linear interpolation between
    /// pooled points; nullopt when even the smallest x is predicted below it or the fit
    /// never drops below it (then no crossing is known).
    std::optional<double> crossing(double threshold);

private:
    void fit();
    std::vector<double> xs_, ys_;
    std::vector<double> px_, py_;  // pooled points, x ascending, y non-increasing
    bool fitted_ = false;
};

}  // namespace hawx::search
