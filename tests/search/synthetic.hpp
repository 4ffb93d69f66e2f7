#pragma once
// A synthetic search problem with a closed-form accuracy model, so that the exhaustive
// optimum is known by brute force: accuracy = base - sum over units of drop[unit][block],
// and the hawx scores are those drops with deterministic multiplicative noise.
#include <cmath>
#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <hawx/framework/search_driver.hpp>
#include <hawx/sdk/search.hpp>

namespace synthetic {

struct Synthetic {
    hawx::SearchProblem problem;
    std::vector<std::vector<std::vector<double>>> drop;  // [layer][unit][block]
    double base = 90.0;
    double curvature = 0.0;  // accuracy = base - D (1 + curvature D), D the summed drops
    // pair[l]: an interaction of layers l and l + 1, whose drops D_l, D_l+1 then cost
    // pair[l] D_l D_l+1 more together (an error that the next layer amplifies): single-layer
    // drops no longer add up.
    std::vector<double> pair;

    double accuracy(const hawx::Configuration& c) const {
        double d = 0, extra = 0, prev = 0;
        for (std::size_t l = 0; l < c.blocks.size(); ++l) {
            double dl = 0;
            for (std::size_t u = 0; u < c.blocks[l].size(); ++u) dl += drop[l][u][static_cast<std::size_t>(c.blocks[l][u])];
            if (l > 0 && l - 1 < pair.size()) extra += pair[l - 1] * prev * dl;
            d += dl;
            prev = dl;
        }
        return base - d * (1.0 + curvature * d) - extra;
    }
    hawx::BatchEvaluator evaluator(std::uint64_t* count = nullptr) const {
        return [this, count](const std::vector<hawx::Configuration>& batch) {
            std::vector<hawx::Outcome> out;
            for (const auto& c : batch) {
                hawx::Outcome o;
                o.accuracy = accuracy(c);
                out.push_back(o);
            }
            if (count) *count += batch.size();
            return out;
        };
    }
};

// Layers named layer1.., the first two convolutions.
inline std::vector<hawx::LayerShape> layer_shapes(const std::vector<std::int64_t>& filters,
                                                  const std::vector<std::int64_t>& fan_in) {
    std::vector<hawx::LayerShape> out;
    for (std::size_t l = 0; l < filters.size(); ++l) {
        hawx::LayerShape shape;
        shape.name = "layer" + std::to_string(l + 1);
        shape.type = l < 2 ? "conv2d" : "linear";
        shape.out_channels = filters[l];
        shape.fan_in = fan_in[l];
        out.push_back(shape);
    }
    return out;
}

// Error magnitude of block b (0 is exact) and its power: more error, less power.
// The errors span 0.04 .. 2.56 whatever the number of blocks.
inline double block_error(std::size_t b, std::size_t B) {
    return b == 0 ? 0.0 : 0.02 * std::pow(2.0, 1.0 + 6.0 * static_cast<double>(b - 1) / static_cast<double>(std::max<std::size_t>(B, 2) - 2 + (B == 2)));
}

/// LeNet-5-like shapes; `filters_per_layer` > 0 overrides out_channels (for filter level).
inline Synthetic make(hawx::Granularity g, std::size_t B, double threshold_drop, std::uint64_t seed = 7,
                      std::vector<std::int64_t> filters = {6, 16, 120, 84, 10},
                      std::vector<std::int64_t> fan_in = {25, 150, 400, 120, 84}, double noise_phase = 78.233) {
    Synthetic s;
    auto& p = s.problem;
    const std::vector<double> sens = {1.4, 0.5, 0.25, 0.7, 1.9, 1.1, 0.8, 0.3};
    p.layers = layer_shapes(filters, fan_in);
    for (std::size_t b = 0; b < B; ++b) {
        p.block_names.push_back(b == 0 ? "E" : "A" + std::to_string(b));
        hawx::HardwareCost hc;
        hc.power_mw = 1.0 / (1.0 + 0.45 * static_cast<double>(b)) + 0.01 * std::sin(3.0 * static_cast<double>(b));
        hc.area_um2 = 100.0 * hc.power_mw;
        p.block_costs.push_back(hc);
    }
    p.granularity = g;
    p.exact_block = 0;
    p.seed = seed;
    p.baseline_accuracy = s.base;
    p.accuracy_threshold = s.base - threshold_drop;
    s.drop.resize(filters.size());
    p.scores.resize(filters.size());
    p.score_sums.resize(filters.size());
    for (std::size_t l = 0; l < filters.size(); ++l) {
        const auto U = static_cast<std::size_t>(hawx::unit_count(p.layers[l], g));
        const double ops = static_cast<double>(filters[l] * fan_in[l]) / static_cast<double>(U);
        s.drop[l].assign(U, std::vector<double>(B));
        p.scores[l].assign(U, std::vector<double>(B));
        p.score_sums[l].assign(U, std::vector<double>(B));
        for (std::size_t u = 0; u < U; ++u)
            for (std::size_t b = 0; b < B; ++b) {
                // per-unit variation so filters differ; +-10% score noise
                const double d = sens[l % sens.size()] * block_error(b, B) * (1.0 + 0.3 * std::sin(1.7 * static_cast<double>(u) + static_cast<double>(l))) /
                                 static_cast<double>(U);
                s.drop[l][u][b] = d;
                const double noisy = d * (1.0 + 0.1 * std::sin(12.9898 * static_cast<double>(l * 131 + u * 17 + b) + noise_phase));
                p.score_sums[l][u][b] = noisy;
                p.scores[l][u][b] = noisy / ops;
            }
    }
    return s;
}

/// A random hard ladder (issue 17): B blocks where every block is on the cost-error front
/// (each cheaper by a random 5-25% and worse by a random factor 1.6-2.6), random layer
/// sensitivities over a 25x range, LeNet-5 layer sizes, layer granularity. The accuracy is
/// base - D (1 + 0.1 D) with D the summed drops (mildly super-additive, monotone in D).
/// problem.predict_drop is what a predictor measured on other images would say: each layer's
/// drops scaled by 0.6 (other images are classified more confidently) times a layer factor
/// in [0.8, 1.25] (layers mis-weighed), each entry with +-`noise` relative error; the score
/// sums carry +-10% noise.
inline Synthetic random_ladder(std::uint64_t seed, double threshold_drop, double noise = 0.1, std::size_t B = 8) {
    std::mt19937_64 g(seed);
    const auto uniform = [&](double lo, double hi) {
        return lo + (hi - lo) * static_cast<double>(g() >> 11) * (1.0 / 9007199254740992.0);
    };
    Synthetic s;
    auto& p = s.problem;
    const std::vector<std::int64_t> filters = {6, 16, 120, 84, 10}, fan_in = {25, 150, 400, 120, 84};
    p.layers = layer_shapes(filters, fan_in);
    std::vector<double> err(B, 0.0);
    double power = 1.0;
    for (std::size_t b = 0; b < B; ++b) {
        if (b > 0) power *= uniform(0.75, 0.95);
        if (b > 0) err[b] = b == 1 ? uniform(0.01, 0.04) : err[b - 1] * uniform(1.6, 2.6);
        p.block_names.push_back(b == 0 ? "E" : "A" + std::to_string(b));
        hawx::HardwareCost hc;
        hc.power_mw = power;
        hc.area_um2 = 100.0 * power;
        p.block_costs.push_back(hc);
    }
    p.granularity = hawx::Granularity::Layer;
    p.exact_block = 0;
    p.seed = seed;
    p.baseline_accuracy = s.base;
    p.accuracy_threshold = s.base - threshold_drop;
    const std::size_t L = filters.size();
    std::vector<std::vector<double>> predicted(L, std::vector<double>(B));
    s.drop.resize(L);
    p.scores.resize(L);
    p.score_sums.resize(L);
    for (std::size_t l = 0; l < L; ++l) {
        const double sens = std::exp(uniform(std::log(0.2), std::log(5.0)));
        const double layer_factor = 0.6 * std::exp(uniform(std::log(0.8), std::log(1.25)));
        s.drop[l].assign(1, std::vector<double>(B));
        p.scores[l].assign(1, std::vector<double>(B));
        p.score_sums[l].assign(1, std::vector<double>(B));
        for (std::size_t b = 0; b < B; ++b) {
            const double d = sens * err[b];
            s.drop[l][0][b] = d;
            predicted[l][b] = d * layer_factor * (1.0 + uniform(-noise, noise));
            p.score_sums[l][0][b] = d * (1.0 + uniform(-0.1, 0.1));
            p.scores[l][0][b] = p.score_sums[l][0][b] / static_cast<double>(filters[l] * fan_in[l]);
        }
    }
    s.curvature = 0.1;
    p.predict_drop = [predicted](const hawx::Configuration& c) {
        double d = 0;
        for (std::size_t l = 0; l < c.blocks.size(); ++l) d += predicted[l][static_cast<std::size_t>(c.blocks[l][0])];
        return d;
    };
    return s;
}

/// Brute force: the cheapest (configuration_cost power) configuration meeting the threshold.
struct Optimum {
    double power = std::numeric_limits<double>::infinity();
    hawx::Configuration config;
    std::uint64_t count = 0;
};
inline Optimum brute_force(const Synthetic& s) {
    const auto& p = s.problem;
    std::vector<std::size_t> units;
    std::size_t total = 0;
    for (const auto& l : p.layers) units.push_back(static_cast<std::size_t>(hawx::unit_count(l, p.granularity))), total += units.back();
    const int B = static_cast<int>(p.block_names.size());
    std::vector<int> flat(total, 0);
    Optimum best;
    for (;;) {
        hawx::Configuration c;
        c.granularity = p.granularity;
        std::size_t k = 0;
        for (std::size_t U : units) {
            c.blocks.emplace_back(flat.begin() + static_cast<std::ptrdiff_t>(k), flat.begin() + static_cast<std::ptrdiff_t>(k + U));
            k += U;
        }
        ++best.count;
        if (s.accuracy(c) >= p.accuracy_threshold) {
            const double pw = *hawx::configuration_cost(p, c).power_mw;
            if (pw < best.power) best.power = pw, best.config = c;
        }
        std::size_t i = total;
        for (;;) {
            if (i == 0) return best;
            --i;
            if (++flat[i] < B) break;
            flat[i] = 0;
        }
    }
}

}  // namespace synthetic
