// `hawx-lagrange`: each unit (layer or filter) takes the block minimising
//     cost(unit, b) + lambda * score_sum(unit, b),
// which, score sums being additive first-order loss estimates, is the Lagrangian relaxation
// of "cheapest configuration whose summed score stays under a budget". As lambda falls from
// +inf to 0 every unit walks the lower convex hull of its (score_sum, cost) points; merging
// all units' hull steps by their breakpoint lambda gives the predicted Pareto path
// k = 0 (all minimum-score blocks) .. K (all cheapest blocks), one unit changing per step,
// with summed score S(k) rising and cost falling. The search
//   1. evaluates both ends (if k = K meets the threshold it is the optimum; if k = 0 misses
//      it nothing on the path does);
//   2. narrows the bracket [lo meets, hi misses] on the path, probing where the isotonic
//      accuracy-vs-S model calibrated on the evaluations so far predicts the threshold
//      crossing (the middle when it predicts none), one evaluation per step;
//   3. closes the gap between hull points: solves the multiple-choice knapsack "cheapest
//      configuration with S <= budget" by dynamic programming for budgets between S(lo)
//      and S(hi) (and at the predicted crossing), and bisects those candidates, ordered
//      by S, with real evaluations;
// stopping at the evaluation budget. The answer is the cheapest evaluated configuration
// that meets the threshold.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>

#include "common.hpp"
#include "strategies.hpp"

namespace hawx::search {
namespace {

struct Event {
    double lambda;
    std::size_t unit;
    int block;
};

class HawxLagrange final : public SearchStrategy {
public:
    static ComponentInfo describe() {
        return {"hawx-lagrange", Kind::Search, "1.0",
                "per unit argmin cost + lambda * score sum; lambda path bracketed with real evaluations, then knapsack "
                "refinement between hull points",
                {ParamSpec::integer("evaluations", "evaluation budget").with_default(10).in_range(2, 1e6),
                 ParamSpec::integer("grid", "score-budget bins of the knapsack refinement").with_default(2000).in_range(10, 1e6),
                 ParamSpec::integer("refine_budgets", "knapsack budgets between the bracketing hull points")
                     .with_default(15)
                     .in_range(0, 1000)}};
    }
    explicit HawxLagrange(const Params& p)
        : budget_(static_cast<std::size_t>(p.get_int("evaluations"))),
          grid_(static_cast<std::size_t>(p.get_int("grid"))),
          refine_budgets_(static_cast<std::size_t>(p.get_int("refine_budgets"))) {}

    void start(const SearchProblem& problem) override {
        p_ = problem;
        const std::string who = p_.strategy_name.empty() ? "search.hawx-lagrange" : p_.strategy_name;
        layout_ = UnitLayout(p_);
        const auto sums = unit_score_sums(p_, who);
        const auto lcost = layer_costs(p_);
        const std::size_t B = p_.block_names.size();
        s_.assign(layout_.total, std::vector<double>(B));
        c_.assign(layout_.total, std::vector<double>(B));
        for (std::size_t l = 0; l < p_.layers.size(); ++l)
            for (std::size_t u = 0; u < layout_.units[l]; ++u)
                for (std::size_t b = 0; b < B; ++b) {
                    s_[layout_.offset[l] + u][b] = sums[l][u][b];
                    c_[layout_.offset[l] + u][b] = lcost[l][b] / static_cast<double>(layout_.units[l]);
                }
        build_path();
        evals_ = 0;
        path_ok_.clear();
        model_ = IsotonicModel();
        best_ = BestTracker();
        cands_.clear();
        seen_.clear();
        pending_.clear();
        phase_ = B == 0 ? Phase::Done : Phase::Ends;
    }

    std::vector<Configuration> ask() override {
        if (evals_ >= budget_) phase_ = Phase::Done;
        pending_.clear();
        switch (phase_) {
            case Phase::Ends: {
                pending_.push_back(0);
                if (K_ > 0 && budget_ >= 2) pending_.push_back(K_);
                std::vector<Configuration> out;
                for (std::size_t k : pending_) out.push_back(path_config(k));
                return out;
            }
            case Phase::Path: {
                pending_.push_back(path_probe());
                return {path_config(pending_[0])};
            }
            case Phase::Refine: {
                pending_.push_back(refine_probe());
                return {cands_[pending_[0]].config};
            }
            case Phase::Done: return {};
        }
        return {};
    }

    void tell(const Configuration& c, const Outcome& o) override {
        ++evals_;
        best_.offer(p_, c, o);
        const bool ok = o.accuracy >= p_.accuracy_threshold;
        seen_.insert(layout_.flatten(c));
        if (!std::isnan(o.accuracy)) model_.add(summed(layout_.flatten(c)), o.accuracy);
        const std::size_t k = pending_.front();
        pending_.erase(pending_.begin());
        if (phase_ == Phase::Ends || phase_ == Phase::Path) {
            path_ok_[k] = ok;
            if (!pending_.empty()) return;
            after_path_step();
        } else if (phase_ == Phase::Refine) {
            (ok ? rlo_ : rhi_) = static_cast<long>(k);
            if (rhi_ - rlo_ <= 1) {
                // narrow the score interval to the new bracket and refine again while budget lasts
                if (rlo_ >= 0) ref_lo_ = cands_[static_cast<std::size_t>(rlo_)].S;
                if (rhi_ < static_cast<long>(cands_.size())) ref_hi_ = cands_[static_cast<std::size_t>(rhi_)].S;
                build_refinement();
            }
        }
    }

    std::optional<Configuration> best() const override { return best_.best(); }

private:
    enum class Phase { Ends, Path, Refine, Done };
    struct Cand {
        Configuration config;
        double S;
    };

    // sum over units of table[unit][block of the unit]
    static double total(const std::vector<std::vector<double>>& table, const std::vector<int>& flat) {
        double t = 0;
        for (std::size_t i = 0; i < flat.size(); ++i) t += table[i][static_cast<std::size_t>(flat[i])];
        return t;
    }
    double summed(const std::vector<int>& flat) const { return total(s_, flat); }
    double additive_cost(const std::vector<int>& flat) const { return total(c_, flat); }

    void build_path() {
        const std::size_t B = p_.block_names.size();
        base_.assign(layout_.total, 0);
        events_.clear();
        for (std::size_t i = 0; i < layout_.total && B > 0; ++i) {
            const auto& s = s_[i];
            const auto& c = c_[i];
            std::size_t cur = 0;
            for (std::size_t b = 1; b < B; ++b)
                if (s[b] < s[cur] || (s[b] == s[cur] && c[b] < c[cur])) cur = b;
            base_[i] = static_cast<int>(cur);
            for (;;) {
                // next hull vertex: the largest breakpoint lambda, ties to the farthest point
                std::size_t next = B;
                double lam = -1;
                for (std::size_t b = 0; b < B; ++b) {
                    if (!(c[b] < c[cur]) || s[b] < s[cur]) continue;
                    const double l = s[b] == s[cur] ? std::numeric_limits<double>::infinity() : (c[cur] - c[b]) / (s[b] - s[cur]);
                    if (next == B || l > lam || (l == lam && s[b] > s[next])) next = b, lam = l;
                }
                if (next == B) break;
                events_.push_back({lam, i, static_cast<int>(next)});
                cur = next;
            }
        }
        std::stable_sort(events_.begin(), events_.end(), [](const Event& a, const Event& b) { return a.lambda > b.lambda; });
        K_ = events_.size();
        S_.assign(K_ + 1, 0.0);
        std::vector<int> flat = base_;
        S_[0] = summed(flat);
        for (std::size_t k = 0; k < K_; ++k) {
            const Event& e = events_[k];
            S_[k + 1] = S_[k] - s_[e.unit][static_cast<std::size_t>(flat[e.unit])] + s_[e.unit][static_cast<std::size_t>(e.block)];
            flat[e.unit] = e.block;
        }
    }

    std::vector<int> path_flat(std::size_t k) const {
        std::vector<int> flat = base_;
        for (std::size_t j = 0; j < k; ++j) flat[events_[j].unit] = events_[j].block;
        return flat;
    }
    Configuration path_config(std::size_t k) const { return layout_.make(p_, path_flat(k)); }

    void after_path_step() {
        if (!path_ok_.at(0)) {
            phase_ = Phase::Done;  // the most accurate point of the path misses the threshold
            return;
        }
        lo_ = 0, hi_ = K_ + 1;  // hi_ = K_ + 1: no failing point known
        for (const auto& [k, ok] : path_ok_) {
            if (ok && k > lo_ && k < hi_) lo_ = k;
        }
        for (const auto& [k, ok] : path_ok_)
            if (!ok && k > lo_ && k < hi_) hi_ = k;
        if (hi_ == K_ + 1) {
            phase_ = Phase::Done;  // the cheapest point meets the threshold: nothing to gain
            return;
        }
        if (hi_ - lo_ > 1) {
            phase_ = Phase::Path;
            return;
        }
        ref_lo_ = S_[lo_], ref_hi_ = S_[hi_];
        build_refinement();
    }

    // index in (lo, hi) whose S is nearest the predicted crossing, kept off the ends so the
    // bracket shrinks by at least a few percent per step
    std::size_t path_probe() {
        const std::size_t gap = hi_ - lo_;
        const std::size_t margin = std::max<std::size_t>(1, gap / 16);
        const std::size_t a = lo_ + margin, b = hi_ - margin;
        if (a >= b) return lo_ + gap / 2;
        std::size_t k = lo_ + gap / 2;
        if (const auto x = model_.crossing(p_.accuracy_threshold)) {
            k = static_cast<std::size_t>(std::lower_bound(S_.begin() + static_cast<std::ptrdiff_t>(a),
                                                          S_.begin() + static_cast<std::ptrdiff_t>(b), *x) -
                                         S_.begin());
            if (k > a && std::abs(S_[k - 1] - *x) <= std::abs(S_[k] - *x)) --k;
        }
        return std::clamp(k, a, b);
    }

    // cheapest configuration with summed score <= budget (multiple-choice knapsack by DP on
    // a grid; weights rounded up, so the true sum never exceeds the budget)
    std::optional<std::vector<int>> knapsack(double budget) const {
        const std::size_t U = layout_.total, B = p_.block_names.size();
        double base = 0;
        std::vector<double> smin(U);
        for (std::size_t i = 0; i < U; ++i) smin[i] = *std::min_element(s_[i].begin(), s_[i].end()), base += smin[i];
        const double W = budget - base;
        if (W < 0) return std::nullopt;
        std::size_t G = std::max<std::size_t>(10, std::min(grid_, static_cast<std::size_t>(5e7 / std::max<std::size_t>(U, 1))));
        const double delta = W > 0 ? W / static_cast<double>(G) : 1.0;
        const double inf = std::numeric_limits<double>::infinity();
        std::vector<double> dp(G + 1, 0.0), nd(G + 1);
        std::vector<std::uint16_t> choice(U * (G + 1));
        for (std::size_t i = 0; i < U; ++i) {
            std::fill(nd.begin(), nd.end(), inf);
            for (std::size_t b = 0; b < B; ++b) {
                const double w = s_[i][b] - smin[i];
                std::size_t wb;
                if (w <= 0) wb = 0;
                else if (W <= 0) continue;
                else {
                    const double q = std::ceil(w / delta - 1e-9);
                    if (q > static_cast<double>(G)) continue;
                    wb = static_cast<std::size_t>(q);
                }
                for (std::size_t g = wb; g <= G; ++g) {
                    const double v = dp[g - wb] + c_[i][b];
                    if (v < nd[g]) nd[g] = v, choice[i * (G + 1) + g] = static_cast<std::uint16_t>(b);
                }
            }
            dp.swap(nd);
        }
        if (!(dp[G] < inf)) return std::nullopt;
        std::vector<int> flat(U);
        std::size_t g = G;
        for (std::size_t i = U; i-- > 0;) {
            const std::size_t b = choice[i * (G + 1) + g];
            flat[i] = static_cast<int>(b);
            const double w = s_[i][b] - smin[i];
            g -= w <= 0 ? 0 : static_cast<std::size_t>(std::ceil(w / delta - 1e-9));
        }
        return flat;
    }

    // knapsack candidates with summed score strictly between ref_lo_ (met the threshold) and
    // ref_hi_ (missed it), cheaper than the best answer so far, ordered by S
    void build_refinement() {
        const double s_lo = ref_lo_, s_hi = ref_hi_;
        std::vector<double> budgets;
        for (std::size_t j = 1; j <= refine_budgets_; ++j)
            budgets.push_back(s_lo + (s_hi - s_lo) * static_cast<double>(j) / static_cast<double>(refine_budgets_ + 1));
        if (const auto x = model_.crossing(p_.accuracy_threshold))
            if (*x > s_lo && *x < s_hi) budgets.push_back(*x);
        const double lo_cost = best_.best() ? additive_cost(layout_.flatten(*best_.best())) : additive_cost(path_flat(lo_));
        cands_.clear();
        for (double w : budgets) {
            auto flat = knapsack(w);
            if (!flat || !seen_.insert(*flat).second) continue;
            if (!(additive_cost(*flat) < lo_cost - 1e-12 * std::abs(lo_cost))) continue;
            cands_.push_back({layout_.make(p_, *flat), summed(*flat)});
        }
        std::stable_sort(cands_.begin(), cands_.end(), [](const Cand& a, const Cand& b) { return a.S < b.S; });
        rlo_ = -1;
        rhi_ = static_cast<long>(cands_.size());
        phase_ = cands_.empty() ? Phase::Done : Phase::Refine;
    }

    std::size_t refine_probe() {
        long k = (rlo_ + rhi_) / 2;
        if (const auto x = model_.crossing(p_.accuracy_threshold)) {
            // the candidate with the largest S predicted to meet the threshold, inside the bracket
            long pick = rlo_ + 1;
            for (long j = rlo_ + 1; j < rhi_; ++j)
                if (cands_[static_cast<std::size_t>(j)].S <= *x) pick = j;
            k = pick;
        }
        return static_cast<std::size_t>(std::clamp(k, rlo_ + 1, rhi_ - 1));
    }

    std::size_t budget_, grid_, refine_budgets_;
    SearchProblem p_;
    UnitLayout layout_{SearchProblem{}};
    std::vector<std::vector<double>> s_, c_;
    std::vector<int> base_;
    std::vector<Event> events_;
    std::vector<double> S_;
    std::size_t K_ = 0, lo_ = 0, hi_ = 0;
    std::map<std::size_t, bool> path_ok_;
    std::vector<Cand> cands_;
    long rlo_ = -1, rhi_ = 0;
    double ref_lo_ = 0, ref_hi_ = 0;
    std::set<std::vector<int>> seen_;  // configurations proposed or known, never proposed again
    std::vector<std::size_t> pending_;
    std::size_t evals_ = 0;
    Phase phase_ = Phase::Done;
    IsotonicModel model_;
    BestTracker best_;
};

}  // namespace

void register_hawx_lagrange(Registry& r) { add<HawxLagrange>(r); }

}  // namespace hawx::search
