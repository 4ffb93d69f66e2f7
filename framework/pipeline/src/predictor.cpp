#include "hawx/pipeline/predictor.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "hawx/engine/conversions.hpp"
#include "hawx/sdk/error.hpp"
#include "hawx/zoo/staged_evaluator.hpp"

namespace hawx::pipeline {

DropPredictor DropPredictor::measure(zoo::Network& net, engine::Engine& engine, const Dataset& images, std::size_t count,
                                     const InputSpec& spec, std::size_t batch_size, const std::vector<int>& blocks,
                                     int exact) {
    DropPredictor p;
    const std::size_t L = net.layer_descs().size();
    zoo::StagedEvaluator staged(net, engine, images, count, spec, batch_size, std::size_t{1} << 30);
    const engine::ModelAssignment all_exact = engine::ModelAssignment::uniform(exact, L);
    const zoo::EvalResult base = staged.evaluate(all_exact);
    p.exact_accuracy_ = base.accuracy;
    p.images_ = base.total;
    p.passes_ = 1;
    const int B = blocks.empty() ? 0 : *std::max_element(blocks.begin(), blocks.end()) + 1;
    p.drop_.assign(L, std::vector<double>(static_cast<std::size_t>(std::max(B, 0)), 0.0));
    // Layer by layer, so the staged evaluator reuses the stages before the changed layer.
    for (std::size_t l = 0; l < L; ++l)
        for (int b : blocks) {
            if (b == exact) continue;
            engine::ModelAssignment a = all_exact;
            a.layers[l].units.assign(1, b);
            p.drop_[l][static_cast<std::size_t>(b)] = base.accuracy - staged.evaluate(a).accuracy;
            ++p.passes_;
        }
    engine.set_assignment(all_exact);
    return p;
}

DropPredictor DropPredictor::from_drops(std::vector<std::vector<double>> drops, double exact_accuracy,
                                        std::size_t images) {
    DropPredictor p;
    p.drop_ = std::move(drops);
    p.exact_accuracy_ = exact_accuracy;
    p.images_ = images;
    return p;
}

std::size_t DropPredictor::extrapolate_saturated(const std::vector<std::vector<double>>& sums, double cap) {
    std::size_t raised = 0;
    for (std::size_t l = 0; l < drop_.size() && l < sums.size(); ++l) {
        std::optional<std::size_t> ref;
        for (std::size_t b = 0; b < drop_[l].size() && b < sums[l].size(); ++b)
            if (drop_[l][b] > 0 && drop_[l][b] <= cap && sums[l][b] > 0 && (!ref || drop_[l][b] > drop_[l][*ref])) ref = b;
        if (!ref) continue;
        for (std::size_t b = 0; b < drop_[l].size() && b < sums[l].size(); ++b) {
            if (drop_[l][b] <= cap) continue;
            const double guess = drop_[l][*ref] * sums[l][b] / sums[l][*ref];
            if (guess > drop_[l][b]) drop_[l][b] = guess, ++raised;
        }
    }
    return raised;
}

double DropPredictor::layer_drop(std::size_t l, int b) const {
    if (l >= drop_.size() || b < 0 || static_cast<std::size_t>(b) >= drop_[l].size()) return 0.0;
    return drop_[l][static_cast<std::size_t>(b)];
}

double DropPredictor::drop(const Configuration& c, const std::vector<std::vector<std::vector<double>>>& weights) const {
    if (c.blocks.size() != drop_.size())
        throw Error("drop predictor: the configuration has " + std::to_string(c.blocks.size()) +
                    " layers, the measurement " + std::to_string(drop_.size()));
    double total = 0;
    for (std::size_t l = 0; l < c.blocks.size(); ++l) {
        const auto& units = c.blocks[l];
        if (units.size() == 1) {
            total += layer_drop(l, units[0]);
            continue;
        }
        if (l >= weights.size() || weights[l].size() != units.size())
            throw Error("drop predictor: layer " + std::to_string(l + 1) + " has " + std::to_string(units.size()) +
                        " units and no unit weights for them");
        for (std::size_t u = 0; u < units.size(); ++u)
            if (units[u] >= 0 && static_cast<std::size_t>(units[u]) < weights[l][u].size())
                total += weights[l][u][static_cast<std::size_t>(units[u])] * layer_drop(l, units[u]);
    }
    return total;
}

std::vector<std::vector<std::vector<double>>> unit_score_shares(const SearchProblem& p) {
    const std::size_t B = p.block_names.size();
    const std::vector<std::vector<double>> totals = layer_score_sums(p);
    std::vector<std::vector<std::vector<double>>> w(p.layers.size());
    for (std::size_t l = 0; l < p.layers.size(); ++l) {
        const auto U = static_cast<std::size_t>(unit_count(p.layers[l], p.granularity));
        w[l].assign(U, std::vector<double>(B, 1.0 / static_cast<double>(U)));
        if (l >= p.score_sums.size() || p.score_sums[l].size() != U) continue;
        // Half by score share, half evenly: a unit whose gradient was zero on the
        // representatives (a dead ReLU) scores 0 whatever its error, yet a large error can
        // revive it; on the hard ladder at filter level pure score shares put B39 on dozens of
        // fc1 neurons predicted free and measured 15-25 points down.
        for (std::size_t b = 0; b < B; ++b)
            if (totals[l][b] > 0)
                for (std::size_t u = 0; u < U; ++u)
                    w[l][u][b] = 0.5 * p.score_sums[l][u][b] / totals[l][b] + 0.5 / static_cast<double>(U);
    }
    return w;
}

std::vector<std::vector<double>> layer_score_sums(const SearchProblem& p) {
    std::vector<std::vector<double>> out(p.layers.size());
    for (std::size_t l = 0; l < p.layers.size() && l < p.score_sums.size(); ++l) {
        out[l].assign(p.block_names.size(), 0.0);
        for (const auto& unit : p.score_sums[l])
            for (std::size_t b = 0; b < unit.size() && b < out[l].size(); ++b) out[l][b] += unit[b];
    }
    return out;
}

}  // namespace hawx::pipeline
