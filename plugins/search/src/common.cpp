#include "common.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <hawx/sdk/error.hpp>

namespace hawx::search {

std::uint64_t Rng::below(std::uint64_t n) {
    if (n <= 1) return 0;
    // accept draws below the largest multiple of n, so every residue is equally likely
    const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
    for (;;) {
        const std::uint64_t v = next();
        if (v < limit) return v % n;
    }
}

UnitLayout::UnitLayout(const SearchProblem& p, bool grouped) {
    grouped = grouped && p.unit_groups.size() == p.layers.size();
    for (std::size_t l = 0; l < p.layers.size(); ++l) {
        const auto U = static_cast<std::size_t>(unit_count(p.layers[l], p.granularity));
        offset.push_back(total);
        layer_units.push_back(U);
        if (grouped && p.unit_groups[l].size() == U) {
            std::map<std::int64_t, std::vector<std::size_t>> by_id;  // groups in id order
            for (std::size_t u = 0; u < U; ++u) by_id[p.unit_groups[l][u]].push_back(u);
            for (auto& [id, us] : by_id) members.push_back(std::move(us));
            units.push_back(by_id.size());
        } else {
            for (std::size_t u = 0; u < U; ++u) members.push_back({u});
            units.push_back(U);
        }
        total += units.back();
    }
}

Configuration UnitLayout::make(const SearchProblem& p, const std::vector<int>& flat) const {
    Configuration c;
    c.granularity = p.granularity;
    for (std::size_t l = 0; l < units.size(); ++l) {
        auto& row = c.blocks.emplace_back(layer_units[l]);
        for (std::size_t g = offset[l]; g < offset[l] + units[l]; ++g)
            for (std::size_t u : members[g]) row[u] = flat[g];
    }
    return c;
}

std::vector<int> UnitLayout::flatten(const Configuration& c) const {
    std::vector<int> flat(total);
    for (std::size_t l = 0; l < units.size() && l < c.blocks.size(); ++l)
        for (std::size_t g = offset[l]; g < offset[l] + units[l]; ++g) flat[g] = c.blocks[l][members[g].front()];
    return flat;
}

Configuration layer_uniform(const SearchProblem& p, const std::vector<int>& per_layer) {
    Configuration c;
    c.granularity = p.granularity;
    for (std::size_t l = 0; l < p.layers.size(); ++l)
        c.blocks.emplace_back(static_cast<std::size_t>(unit_count(p.layers[l], p.granularity)), per_layer[l]);
    return c;
}

double cost_of(const SearchProblem& p, const Configuration& c) {
    const Outcome o = p.estimate_cost ? p.estimate_cost(c) : configuration_cost(p, c);
    // a configuration the accelerator cannot cost is never the cheaper choice
    if (o.status == EvalStatus::Skipped || !o.power_mw) return std::numeric_limits<double>::infinity();
    return *o.power_mw;
}

double cost_of(const SearchProblem& p, const Configuration& c, const Outcome& o) {
    if (o.status == EvalStatus::Skipped) return std::numeric_limits<double>::infinity();
    return o.power_mw ? *o.power_mw : cost_of(p, c);
}

std::vector<std::vector<double>> layer_costs(const SearchProblem& p) {
    const std::size_t L = p.layers.size(), B = p.block_names.size();
    std::vector<std::vector<double>> out(L, std::vector<double>(B, 0.0));
    if (!p.estimate_cost) {
        for (std::size_t l = 0; l < L; ++l)
            for (std::size_t b = 0; b < B; ++b)
                out[l][b] = static_cast<double>(p.layers[l].out_channels * p.layers[l].fan_in) * p.block_costs[b].power_mw;
        return out;
    }
    std::vector<int> choice(L, 0);
    const double base = cost_of(p, layer_uniform(p, choice));
    for (std::size_t l = 0; l < L; ++l) {
        for (std::size_t b = 0; b < B; ++b) {
            choice[l] = static_cast<int>(b);
            out[l][b] = cost_of(p, layer_uniform(p, choice)) - base;
        }
        choice[l] = 0;
    }
    return out;
}

std::vector<std::vector<double>> layer_scores(const SearchProblem& p, const std::string& who) {
    if (p.scores.size() != p.layers.size())
        throw Error(who + " needs hawx scores: configure a metric in the manifest (scores cover " +
                    std::to_string(p.scores.size()) + " of " + std::to_string(p.layers.size()) + " layers)");
    const std::size_t B = p.block_names.size();
    std::vector<std::vector<double>> out(p.layers.size(), std::vector<double>(B, 0.0));
    for (std::size_t l = 0; l < p.layers.size(); ++l) {
        const auto& units = p.scores[l];
        if (units.empty()) throw Error(who + ": layer " + std::to_string(l + 1) + " has no scores");
        for (const auto& u : units) {
            if (u.size() != B)
                throw Error(who + ": layer " + std::to_string(l + 1) + " has scores for " + std::to_string(u.size()) +
                            " blocks, the problem has " + std::to_string(B));
            for (std::size_t b = 0; b < B; ++b) out[l][b] += u[b] / static_cast<double>(units.size());
        }
    }
    return out;
}

std::vector<std::vector<std::vector<double>>> unit_score_sums(const SearchProblem& p, const std::string& who) {
    const UnitLayout layout(p);
    const std::size_t B = p.block_names.size();
    const auto& src = p.score_sums.empty() ? p.scores : p.score_sums;
    if (src.size() != p.layers.size())
        throw Error(who + " needs hawx scores: configure a metric in the manifest");
    std::vector<std::vector<std::vector<double>>> out(p.layers.size());
    for (std::size_t l = 0; l < p.layers.size(); ++l) {
        const std::size_t U = layout.units[l];
        // scores may be given per filter while the search is per layer: aggregate by sum
        const auto& su = src[l];
        if (su.empty()) throw Error(who + ": layer " + std::to_string(l + 1) + " has no scores");
        const double ops_per_given = static_cast<double>(p.layers[l].out_channels * p.layers[l].fan_in *
                                                         std::max<std::int64_t>(p.layers[l].output_positions, 1)) /
                                     static_cast<double>(su.size());
        const double scale = p.score_sums.empty() ? ops_per_given : 1.0;
        out[l].assign(U, std::vector<double>(B, 0.0));
        if (su.size() == U) {
            for (std::size_t u = 0; u < U; ++u)
                for (std::size_t b = 0; b < B; ++b) out[l][u][b] = su[u].at(b) * scale;
        } else if (U == 1) {
            for (const auto& s : su)
                for (std::size_t b = 0; b < B; ++b) out[l][0][b] += s.at(b) * scale;
        } else {
            throw Error(who + ": layer " + std::to_string(l + 1) + " has scores for " + std::to_string(su.size()) +
                        " units, the search has " + std::to_string(U));
        }
    }
    return out;
}

int safest_block(const SearchProblem& p, const std::vector<std::vector<double>>& lcost, std::size_t l) {
    if (p.exact_block >= 0) return p.exact_block;
    const std::size_t B = p.block_names.size();
    if (p.scores.size() == p.layers.size() && !p.scores[l].empty()) {
        int best = 0;
        double bs = std::numeric_limits<double>::infinity();
        for (std::size_t b = 0; b < B; ++b) {
            double s = 0;
            for (const auto& u : p.scores[l]) s += u.at(b);
            if (s < bs) bs = s, best = static_cast<int>(b);
        }
        return best;
    }
    int best = 0;
    for (std::size_t b = 1; b < B; ++b)
        if (lcost[l][b] > lcost[l][static_cast<std::size_t>(best)]) best = static_cast<int>(b);
    return best;
}

void BestTracker::offer(const SearchProblem& p, const Configuration& c, const Outcome& o) {
    if (!meets_threshold(o, p.accuracy_threshold)) return;
    const double cost = cost_of(p, c, o);
    if (!best_ || cost < cost_) best_ = c, cost_ = cost;
}

void IsotonicModel::fit() {
    if (fitted_) return;
    std::vector<std::size_t> idx(xs_.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return xs_[a] < xs_[b]; });
    // blocks of (sum x, sum y, count); merge while a later block has a larger mean y
    std::vector<double> sx, sy, n;
    for (std::size_t i : idx) {
        sx.push_back(xs_[i]), sy.push_back(ys_[i]), n.push_back(1);
        while (sy.size() > 1 && sy[sy.size() - 1] / n[n.size() - 1] > sy[sy.size() - 2] / n[n.size() - 2]) {
            sx[sx.size() - 2] += sx.back(), sy[sy.size() - 2] += sy.back(), n[n.size() - 2] += n.back();
            sx.pop_back(), sy.pop_back(), n.pop_back();
        }
    }
    px_.clear(), py_.clear();
    for (std::size_t i = 0; i < sx.size(); ++i) px_.push_back(sx[i] / n[i]), py_.push_back(sy[i] / n[i]);
    fitted_ = true;
}

double IsotonicModel::predict(double x) {
    fit();
    if (px_.empty()) return std::numeric_limits<double>::quiet_NaN();
    if (x <= px_.front()) return py_.front();
    if (x >= px_.back()) return py_.back();
    const auto it = std::upper_bound(px_.begin(), px_.end(), x);
    const std::size_t j = static_cast<std::size_t>(it - px_.begin());
    const double t = (x - px_[j - 1]) / (px_[j] - px_[j - 1]);
    return py_[j - 1] + t * (py_[j] - py_[j - 1]);
}

std::optional<double> IsotonicModel::crossing(double threshold) {
    fit();
    if (px_.empty() || py_.front() < threshold || py_.back() >= threshold) return std::nullopt;
    for (std::size_t j = 1; j < px_.size(); ++j) {
        if (py_[j] < threshold) {
            const double t = (py_[j - 1] - threshold) / (py_[j - 1] - py_[j]);
            return px_[j - 1] + t * (px_[j] - px_[j - 1]);
        }
    }
    return std::nullopt;
}

}  // namespace hawx::search
