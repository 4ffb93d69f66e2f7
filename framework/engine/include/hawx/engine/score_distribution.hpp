#pragma once
/// \file
/// Distribution of operation-level hawx scores per block and layer (the data of the HAWX
/// paper's Fig. 3 and Table I). For an operation o = (filter f, output position p, weight
/// position k) and block b:
///     hawx(o, b) = (1/N) sum_n |dL/dy_{n,f,p}| * |T_b[a][w] - a*w| * s_a * s_w[f]
/// (the definition in scoring.hpp). A layer with at most `exact_limit` operations is
/// evaluated over every operation; a larger one over `samples` operations drawn uniformly
/// with replacement by std::mt19937_64(seed ^ layer index) (index = draw % operations), and
/// its counts are scaled by operations / samples so they estimate operation counts.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "hawx/engine/compiled_block.hpp"
#include "hawx/engine/engine.hpp"

namespace hawx::engine {

struct DistributionOptions {
    std::int64_t exact_limit = std::int64_t{1} << 20;
    std::int64_t samples = std::int64_t{1} << 20;
    std::uint64_t seed = 1;
};

/// Fixed bins: [0] exactly zero, [1] (0, 1e-12), then 56 log-spaced bins
/// [10^(-12 + j/4), 10^(-12 + (j+1)/4)) for j = 0..55, and [57] [1e2, inf).
inline constexpr int kLogBins = 56;
inline constexpr int kDistributionBins = kLogBins + 3;
/// Lower edge of log bin j (j = 0..56; 56 is the upper edge of the last one, 1e2).
double log_bin_edge(int j);
/// Bin of a score (see above).
int distribution_bin(double v);
/// Quantile levels reported: min, 1%, 5%, 25%, 50%, 75%, 95%, 99%, max.
inline constexpr std::array<double, 9> kQuantileLevels{0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0};

struct ScoreDistribution {
    int layer = 0;             ///< layer index; 0 for the whole model
    std::string name;          ///< layer name ("model" for the whole model)
    std::size_t block = 0;     ///< index into the library
    std::int64_t operations = 0;  ///< operations of the layer (model: of all layers)
    std::int64_t evaluated = 0;   ///< operations whose score was computed
    bool sampled = false;         ///< true when evaluated < operations (a sample)
    std::array<double, kDistributionBins> bins{};  ///< estimated operation counts per bin
    /// Quantiles at kQuantileLevels: the smallest evaluated score whose cumulative weight
    /// reaches level x total weight (weights: operations / evaluated of its layer); the
    /// min and max are those of the evaluated scores.
    std::array<double, 9> quantiles{};
};

/// One row per (layer, block) for every block matching the profile's signedness, then one
/// model row (layer 0) per block pooling every layer. Needs the records after backward.
std::vector<ScoreDistribution> score_distributions(const std::vector<LayerProfile>& records,
                                                   const BlockLibrary& library,
                                                   const DistributionOptions& options = {});

}  // namespace hawx::engine
