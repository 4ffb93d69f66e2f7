#include "hawx/pipeline/predictor.hpp"

#include <algorithm>
#include <cmath>

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
    std::vector<std::vector<std::vector<double>>> w(p.layers.size());
    for (std::size_t l = 0; l < p.layers.size(); ++l) {
        const auto U = static_cast<std::size_t>(unit_count(p.layers[l], p.granularity));
        w[l].assign(U, std::vector<double>(B, 1.0 / static_cast<double>(U)));
        if (l >= p.score_sums.size() || p.score_sums[l].size() != U) continue;
        for (std::size_t b = 0; b < B; ++b) {
            double total = 0;
            for (std::size_t u = 0; u < U; ++u) total += p.score_sums[l][u][b];
            if (total > 0)
                for (std::size_t u = 0; u < U; ++u) w[l][u][b] = p.score_sums[l][u][b] / total;
        }
    }
    return w;
}

}  // namespace hawx::pipeline
