#pragma once
/// \file
/// HAWX sensitivity scores from a gradient profile (paper section II-A).
///
/// For an operation o = (filter f, output position p, weight position k) of a layer, a
/// representative input n and a block b:
///     hawx(o, n, b) = |dL/dy_{n,f,p}| * |T_b[a][w] - a*w| * s_a * s_w[f]
/// with a = a_{n,p,k} and w = w_{f,k} the operand codes (the zero-point terms of unsigned
/// quantization are exact and cancel), s_a * s_w[f] the layer's output scale, and dL/dy the
/// gradient of the loss at the output element the product feeds (dL/do = dL/dy).
/// hawx(o, b) is the mean over the N profiled inputs. Aggregates: per weight position (f, k)
/// the mean over output positions; per filter the mean over its P*K operations; per layer and
/// model the mean over their operations. Sums over operations (the first-order estimate of
/// the loss change when the block replaces the exact product) are reported alongside.
#include <hawx/sdk/metric.hpp>

#include <cstdint>
#include <vector>

#include "hawx/engine/compiled_block.hpp"
#include "hawx/engine/engine.hpp"

namespace hawx::engine {

/// Scores of one block in one layer.
struct LayerScores {
    std::vector<double> filter_mean;    ///< per filter
    std::vector<double> filter_sum;     ///< per filter
    std::vector<double> position_mean;  ///< F x K (filter-major), when requested
    double layer_mean = 0, layer_sum = 0;
    std::int64_t operations = 0;        ///< F * P * K
};

struct ScoreTable {
    std::vector<LayerDesc> layers;
    std::int64_t inputs = 0;                  ///< N, profiled inputs
    std::vector<std::vector<LayerScores>> s;  ///< s[layer][block]
    std::vector<double> model_mean, model_sum;  ///< per block
};

/// Scores every block of `library` on the records of a Profile-mode pass (after backward).
/// Fast route: per filter a gradient-weighted histogram H_f[a][w] of operand-code pairs, after
/// which a block's filter score is the dot product of H_f with |E_b| (independent of N and P).
/// `per_position` adds the (f, k) means (one 256-bin histogram per weight position).
/// Blocks whose signedness differs from the profile's quantization get no scores (empty
/// vectors, NaN means); a layer profiled twice in the records counts its inputs together.
ScoreTable score_hawx(const std::vector<LayerProfile>& records, const BlockLibrary& library, bool per_position = false);

/// Options of score_with_metric.
struct ScoreOptions {
    /// Also score every weight position (f, k) as a unit (the engine's operation granularity).
    bool per_position = false;
};

/// Scores every block of `library` with `metric` on the records of a Profile-mode pass.
/// Per filter f the profile is reduced to a UnitProfile over code pairs i = (a << 8) | w:
///   grad_weighted[i] = sum over f's operations (p, k) with codes i of mean_n |dL/dy_{n,f,p}|
///   counts[i]        = number of f's operations with codes i, mean over the N inputs
///   operations = P * K, fan_in = K, output_scale = s_a * s_w[f], support = {i : counts > 0};
/// a weight position (f, k) likewise over its P operations. The filter's score is
/// metric.score(...) (a mean per operation); its sum is mean x operations; a layer's and the
/// model's mean is the operation-weighted mean of their filters' (sum / operations).
/// When the metric needs no gradients the records need no backward pass (grad_weighted is
/// then all zero unless every record has a gradient). Blocks whose signedness differs from
/// the profile get no scores (as score_hawx). metrics.hawx gives score_hawx's numbers.
ScoreTable score_with_metric(const std::vector<LayerProfile>& records, const BlockLibrary& library,
                             const SensitivityMetric& metric, const ScoreOptions& options = {});

/// The definition above, evaluated operation by operation (tests; slow).
ScoreTable score_direct(const std::vector<LayerProfile>& records, const BlockLibrary& library);

}  // namespace hawx::engine
