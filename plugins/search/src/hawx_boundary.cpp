// `hawx`: the paper's boundary search (section II-B), as we read it.
//
// 1. Per layer, rank the blocks by their layer-level hawx score (ascending: rank 0 is the
//    least harmful). The configuration R(r) gives every layer its rank-r block.
// 2. Evaluate R(0) (all minimum-score blocks), R(m) (all median, m = (B-1)/2) and R(B-1)
//    (all maximum) together. They bracket the threshold at ranks lo (meets it) < hi (misses
//    it); if R(B-1) meets it the boundary is rank B-1; if R(0) misses it nothing will.
// 3. Binary-search the rank in (lo, hi), one evaluation per step, until hi = lo + 1. The
//    score boundary of layer l is then tau_l = score of its rank-lo block.
// 4. Keep, per unit (layer, or filter at filter granularity, comparing the filter's own
//    score with its layer's boundary), the blocks whose score is within the boundary, and let
//    the cost model pick the cheapest of them: the first candidate, verified unless it is
//    R(lo) itself. Below layer granularity, when that candidate misses, the same boundary
//    once more with every unit compared by its layer's score (each layer on one block), and
//    the candidates of step 5 so from then on: the unit-level step puts the most aggressive
//    blocks on low-score filters, and where it missed the answer had been R(lo) (all-exact
//    for the built-in blocks on PERUN at filter level, whose low ranks cost more than exact).
// 5. The few Pareto candidates: raise one layer's boundary to its rank-(lo+1) score, in
//    order of predicted cost saved per summed score added, build the cheapest configuration
//    within the boundaries, skip it when the isotonic accuracy-vs-summed-score model
//    calibrated on the evaluations so far predicts it to miss the threshold, else verify
//    it; a passing candidate keeps its raised boundary for the next. `candidates`
//    verifications at most (step 4 included).
// The answer is the cheapest evaluated configuration that meets the threshold.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <limits>
#include <set>

#include "common.hpp"
#include "strategies.hpp"

namespace hawx::search {
namespace {

class HawxBoundary final : public SearchStrategy {
public:
    static ComponentInfo describe() {
        return {"hawx", Kind::Search, "1.1",
                "the paper's boundary search: min/median/max score configurations, binary search on the score "
                "boundary, cheapest blocks within it",
                {ParamSpec::integer("candidates", "candidates verified after the boundary search (at most)")
                     .with_default(3)
                     .in_range(1, 1000)}};
    }
    explicit HawxBoundary(const Params& p) : k_(static_cast<int>(p.get_int("candidates"))) {}

    void start(const SearchProblem& problem) override {
        p_ = problem;
        const std::string who = p_.strategy_name.empty() ? "search.hawx" : p_.strategy_name;
        ls_ = layer_scores(p_, who);
        lcost_ = layer_costs(p_);
        layout_ = UnitLayout(p_, true);  // the accelerator's unit groups, where it has them
        B_ = static_cast<int>(p_.block_names.size());
        order_.assign(p_.layers.size(), {});
        for (std::size_t l = 0; l < p_.layers.size(); ++l) {
            order_[l].resize(static_cast<std::size_t>(B_));
            std::iota(order_[l].begin(), order_[l].end(), 0);
            std::stable_sort(order_[l].begin(), order_[l].end(),
                             [&](int a, int b) { return ls_[l][static_cast<std::size_t>(a)] < ls_[l][static_cast<std::size_t>(b)]; });
        }
        sums_ = unit_score_sums(p_, who);
        rank_acc_.clear();
        evaluated_.clear();
        model_ = IsotonicModel();
        best_ = BestTracker();
        phase_ = Phase::Bracket;
        pending_ranks_.clear();
        first_pending_ = true;
        boundary_.clear();
        uniform_ = false;
    }

    std::vector<Configuration> ask() override {
        switch (phase_) {
            case Phase::Bracket: {
                std::vector<Configuration> out;
                for (int r : std::set<int>{0, (B_ - 1) / 2, B_ - 1}) {
                    pending_ranks_.push_back(r);
                    out.push_back(rank_config(r));
                }
                return out;
            }
            case Phase::Binary: {
                const int m = (lo_ + hi_) / 2;
                pending_ranks_ = {m};
                return {rank_config(m)};
            }
            case Phase::Verify: {
                auto c = next_candidate();
                if (!c) {
                    phase_ = Phase::Done;
                    return {};
                }
                proposed_ = *c;
                return {*c};
            }
            case Phase::Done: return {};
        }
        return {};
    }

    void tell(const Configuration& c, const Outcome& o) override {
        best_.offer(p_, c, o);
        evaluated_.insert(layout_.flatten(c));
        if (o.status == EvalStatus::Evaluated && !std::isnan(o.accuracy)) model_.add(summed_score(c), o.accuracy);
        const bool ok = meets_threshold(o, p_.accuracy_threshold);
        if (phase_ == Phase::Bracket || phase_ == Phase::Binary) {
            rank_acc_[pending_ranks_.front()] = ok;
            pending_ranks_.erase(pending_ranks_.begin());
            if (!pending_ranks_.empty()) return;
            if (phase_ == Phase::Bracket) {
                const int mid = (B_ - 1) / 2;
                if (!rank_acc_.at(0)) {
                    phase_ = Phase::Done;  // even the minimum-score blocks miss the threshold
                    return;
                }
                if (rank_acc_.at(B_ - 1)) lo_ = hi_ = B_ - 1;
                else if (rank_acc_.at(mid)) lo_ = mid, hi_ = B_ - 1;
                else lo_ = 0, hi_ = mid;
            } else {
                const int m = (lo_ + hi_) / 2;
                (rank_acc_.at(m) ? lo_ : hi_) = m;
            }
            if (hi_ - lo_ > 1) {
                phase_ = Phase::Binary;
                return;
            }
            start_verification();
            return;
        }
        if (phase_ == Phase::Verify) {
            ++verified_;
            if (ok) boundary_ = proposed_boundary_;
            else if (layer_queue_pos_ == 0) {  // the base candidate failed
                if (!uniform_ && p_.granularity != Granularity::Layer) uniform_ = first_pending_ = true;
                else phase_ = Phase::Done;
            }
        }
    }

    std::optional<Configuration> best() const override { return best_.best(); }

private:
    enum class Phase { Bracket, Binary, Verify, Done };

    Configuration rank_config(int r) const {
        std::vector<int> per_layer;
        for (const auto& o : order_) per_layer.push_back(o[static_cast<std::size_t>(r)]);
        return layer_uniform(p_, per_layer);
    }

    // entry u of layer l (a unit, or a group of units: their mean)
    double unit_score(std::size_t l, std::size_t u, std::size_t b) const {
        if (p_.scores[l].size() != layout_.layer_units[l]) return ls_[l][b];
        const auto& m = layout_.members[layout_.offset[l] + u];
        double s = 0;
        for (std::size_t x : m) s += p_.scores[l][x][b];
        return s / static_cast<double>(m.size());
    }

    double summed_score(const Configuration& c) const {
        double s = 0;
        for (std::size_t l = 0; l < c.blocks.size(); ++l)
            for (std::size_t u = 0; u < c.blocks[l].size(); ++u) s += sums_[l][u][static_cast<std::size_t>(c.blocks[l][u])];
        return s;
    }

    // cheapest block within boundary tau per unit
    Configuration within(const std::vector<double>& tau) const {
        std::vector<int> flat(layout_.total);
        for (std::size_t l = 0; l < p_.layers.size(); ++l) {
            for (std::size_t u = 0; u < layout_.units[l]; ++u) {
                int pick = -1, safest = 0;
                for (std::size_t b = 0; b < static_cast<std::size_t>(B_); ++b) {
                    const auto score = [&](std::size_t k) { return uniform_ ? ls_[l][k] : unit_score(l, u, k); };
                    const double s = score(b);
                    if (s < score(static_cast<std::size_t>(safest))) safest = static_cast<int>(b);
                    if (s > tau[l] + 1e-12 * std::abs(tau[l])) continue;
                    if (pick < 0 || lcost_[l][b] < lcost_[l][static_cast<std::size_t>(pick)]) pick = static_cast<int>(b);
                }
                flat[layout_.offset[l] + u] = pick < 0 ? safest : pick;
            }
        }
        return layout_.make(p_, flat);
    }

    std::vector<double> boundary_scores(const std::vector<int>& ranks) const {
        std::vector<double> tau;
        for (std::size_t l = 0; l < p_.layers.size(); ++l)
            tau.push_back(ls_[l][static_cast<std::size_t>(order_[l][static_cast<std::size_t>(ranks[l])])]);
        return tau;
    }

    void start_verification() {
        boundary_.assign(p_.layers.size(), lo_);
        verified_ = 0;
        layer_queue_pos_ = 0;
        layer_queue_.clear();
        phase_ = Phase::Verify;
        if (lo_ + 1 >= B_) return;  // every block is within the boundary: no layer to relax
        // layers by predicted cost saved per summed score added when their boundary is raised
        const Configuration base = within(boundary_scores(boundary_));
        const double base_cost = cost_of(p_, base), base_s = summed_score(base);
        std::vector<std::pair<double, std::size_t>> gain;
        for (std::size_t l = 0; l < p_.layers.size(); ++l) {
            std::vector<int> r = boundary_;
            r[l] = lo_ + 1;
            const Configuration c = within(boundary_scores(r));
            const double saved = base_cost - cost_of(p_, c), added = summed_score(c) - base_s;
            if (saved <= 0) continue;
            gain.push_back({added > 0 ? saved / added : std::numeric_limits<double>::infinity(), l});
        }
        std::stable_sort(gain.begin(), gain.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
        for (const auto& g : gain) layer_queue_.push_back(g.second);
    }

    // the next unseen candidate cheaper than the best answer, or nullopt when done
    std::optional<Configuration> next_candidate() {
        while (verified_ < static_cast<std::size_t>(k_)) {
            std::vector<int> r = boundary_;
            if (first_pending_) {
                first_pending_ = false;
            } else {
                if (layer_queue_pos_ >= layer_queue_.size()) return std::nullopt;
                const std::size_t l = layer_queue_[layer_queue_pos_++];
                r[l] = std::min(r[l] + 1, B_ - 1);
            }
            Configuration c = within(boundary_scores(r));
            if (evaluated_.count(layout_.flatten(c))) {
                if (best_.best() && layout_.flatten(*best_.best()) == layout_.flatten(c)) boundary_ = r;
                continue;
            }
            if (best_.best() && cost_of(p_, c) >= best_.best_cost()) continue;  // cannot improve the answer
            // relaxations the accuracy model calibrated so far predicts to miss are not verified
            if (r != boundary_ && model_.predict(summed_score(c)) < p_.accuracy_threshold) continue;
            proposed_boundary_ = r;
            return c;
        }
        return std::nullopt;
    }

    int k_;
    SearchProblem p_;
    std::vector<std::vector<double>> ls_, lcost_;
    std::vector<std::vector<std::vector<double>>> sums_;
    UnitLayout layout_{SearchProblem{}};
    int B_ = 0;
    std::vector<std::vector<int>> order_;
    std::map<int, bool> rank_acc_;
    std::vector<int> pending_ranks_;
    int lo_ = 0, hi_ = 0;
    Phase phase_ = Phase::Done;
    std::set<std::vector<int>> evaluated_;
    std::vector<int> boundary_, proposed_boundary_;  // boundary rank per layer
    std::vector<std::size_t> layer_queue_;
    std::size_t layer_queue_pos_ = 0, verified_ = 0;
    bool first_pending_ = true;
    bool uniform_ = false;  // units compared by their layer's score (after a unit-level miss)
    Configuration proposed_;
    IsotonicModel model_;
    BestTracker best_;
};

}  // namespace

void register_hawx_boundary(Registry& r) { add<HawxBoundary>(r); }

}  // namespace hawx::search
