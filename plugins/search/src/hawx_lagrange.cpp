// `hawx-lagrange`: each unit (layer or filter) takes the block minimising
//     cost(unit, b) + lambda * score_sum(unit, b),
// which, score sums being additive first-order loss estimates, is the Lagrangian relaxation
// of "cheapest configuration whose summed score stays under a budget". As lambda falls from
// +inf to 0 every unit walks the lower convex hull of its (score_sum, cost) points; merging
// all units' hull steps by their breakpoint lambda gives the predicted Pareto path
// k = 0 (the current configuration) .. K (every unit at its cheapest allowed block), one
// unit changing per step, with summed score S(k) rising and cost falling. The search
//   1. starts from the minimum-score configuration (not evaluated when it is the all-exact
//      design, whose accuracy is the baseline);
//   2. narrows a bracket [lo meets, hi misses] on the path with one evaluation per step,
//      probing where the isotonic accuracy-vs-S model calibrated on all evaluations so far
//      predicts the threshold crossing, at least a quarter of the bracket from either end
//      (the middle when it predicts none);
//   3. when the bracket closes (hi = lo + 1), moves to point lo and blames step hi: that
//      unit may no longer use the block the step gave it nor any block scoring higher
//      there. Score sums rank blocks within a layer well but weigh layers against each other
//      poorly (a first-order estimate: a layer whose errors the network cannot absorb fails
//      at a score another layer tolerates), and the failed step is the evidence;
//   4. rebuilds the path from lo with the blocks still allowed and repeats,
// stopping when the whole remaining path meets the threshold, nothing is left to try, or the
// evaluation budget is spent. The answer is the cheapest evaluated configuration that meets
// the threshold.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

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
        return {"hawx-lagrange", Kind::Search, "2.0",
                "per unit argmin cost + lambda * score sum; the lambda path bisected with real evaluations at the "
                "predicted crossing, a failing step's block (and riskier ones) dropped from its unit, path rebuilt",
                {ParamSpec::integer("evaluations", "evaluation budget").with_default(10).in_range(2, 1e6)}};
    }
    explicit HawxLagrange(const Params& p) : budget_(static_cast<std::size_t>(p.get_int("evaluations"))) {}

    void start(const SearchProblem& problem) override {
        p_ = problem;
        const std::string who = p_.strategy_name.empty() ? "search.hawx-lagrange" : p_.strategy_name;
        layout_ = UnitLayout(p_, true);  // the accelerator's unit groups, where it has them
        const auto sums = unit_score_sums(p_, who);
        const auto lcost = layer_costs(p_);
        const std::size_t B = p_.block_names.size();
        s_.assign(layout_.total, std::vector<double>(B));
        c_.assign(layout_.total, std::vector<double>(B));
        for (std::size_t l = 0; l < p_.layers.size(); ++l)
            for (std::size_t u = 0; u < layout_.units[l]; ++u)
                for (std::size_t b = 0; b < B; ++b) {
                    const std::size_t i = layout_.offset[l] + u;
                    s_[i][b] = 0;
                    for (std::size_t m : layout_.members[i]) s_[i][b] += sums[l][m][b];
                    c_[i][b] = lcost[l][b] * layout_.share(l, i);
                }
        allowed_.assign(layout_.total, std::vector<char>(B, 1));
        cur_.assign(layout_.total, 0);
        for (std::size_t i = 0; i < layout_.total && B > 0; ++i) {
            std::size_t m = 0;
            for (std::size_t b = 1; b < B; ++b)
                if (s_[i][b] < s_[i][m] || (s_[i][b] == s_[i][m] && c_[i][b] < c_[i][m])) m = b;
            cur_[i] = static_cast<int>(m);
        }
        evals_ = 0;
        model_ = IsotonicModel();
        best_ = BestTracker();
        pending_.reset();
        phase_ = B == 0 ? Phase::Done : Phase::Start;
        const bool all_exact = p_.exact_block >= 0 &&
                               std::all_of(cur_.begin(), cur_.end(), [&](int b) { return b == p_.exact_block; });
        if (phase_ == Phase::Start && all_exact && p_.baseline_accuracy > 0) {
            // the all-exact design is the baseline itself: known without an evaluation
            const Configuration c = layout_.make(p_, cur_);
            Outcome o;
            o.accuracy = p_.baseline_accuracy;
            learn(cur_, o);
            start_path();
        }
    }

    std::vector<Configuration> ask() override {
        if (evals_ >= budget_) phase_ = Phase::Done;
        switch (phase_) {
            case Phase::Start: pending_ = 0; return {layout_.make(p_, cur_)};
            case Phase::Path: pending_ = probe(); return {layout_.make(p_, path_point(*pending_))};
            case Phase::Done: return {};
        }
        return {};
    }

    void tell(const Configuration& c, const Outcome& o) override {
        ++evals_;
        const bool ok = meets_threshold(o, p_.accuracy_threshold);
        learn(layout_.flatten(c), o);
        if (!pending_) return;
        const std::size_t k = *pending_;
        pending_.reset();
        if (phase_ == Phase::Start) {
            if (ok) start_path();
            else phase_ = Phase::Done;  // the most accurate configuration misses the threshold
            return;
        }
        (ok ? lo_ : hi_) = k;
        if (hi_ - lo_ <= 1) close_bracket();
    }

    std::optional<Configuration> best() const override { return best_.best(); }

private:
    enum class Phase { Start, Path, Done };

    double summed(const std::vector<int>& flat) const {
        double t = 0;
        for (std::size_t i = 0; i < flat.size(); ++i) t += s_[i][static_cast<std::size_t>(flat[i])];
        return t;
    }
    void learn(const std::vector<int>& flat, const Outcome& o) {
        best_.offer(p_, layout_.make(p_, flat), o);
        if (o.status == EvalStatus::Evaluated && !std::isnan(o.accuracy)) model_.add(summed(flat), o.accuracy);
    }

    // Path from cur_: each unit walks the lower hull of its allowed blocks cheaper than its
    // current one; steps merged by breakpoint lambda, largest (most cost per score) first.
    void start_path() {
        const std::size_t B = p_.block_names.size();
        std::vector<Event> events;
        for (std::size_t i = 0; i < layout_.total; ++i) {
            const auto& s = s_[i];
            const auto& c = c_[i];
            auto cur = static_cast<std::size_t>(cur_[i]);
            for (;;) {
                std::size_t next = B;
                double lam = -1;
                for (std::size_t b = 0; b < B; ++b) {
                    if (!allowed_[i][b] || !(c[b] < c[cur]) || s[b] < s[cur]) continue;
                    const double l = s[b] == s[cur] ? std::numeric_limits<double>::infinity() : (c[cur] - c[b]) / (s[b] - s[cur]);
                    if (next == B || l > lam || (l == lam && s[b] > s[next])) next = b, lam = l;
                }
                if (next == B) break;
                events.push_back({lam, i, static_cast<int>(next)});
                cur = next;
            }
        }
        std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.lambda > b.lambda; });
        if (events.empty()) {
            phase_ = Phase::Done;
            return;
        }
        S_.assign(1, summed(cur_));
        step_.assign(1, Event{0, 0, 0});
        std::vector<int> flat = cur_;
        for (const Event& e : events) {
            S_.push_back(S_.back() - s_[e.unit][static_cast<std::size_t>(flat[e.unit])] + s_[e.unit][static_cast<std::size_t>(e.block)]);
            flat[e.unit] = e.block;
            step_.push_back(e);
        }
        lo_ = 0;
        hi_ = step_.size();  // no failing point known on this path
        phase_ = Phase::Path;
    }

    // point k of the path: cur_ with its first k steps applied (points are not stored: at
    // filter or operation level the path has units x hull steps points)
    std::vector<int> path_point(std::size_t k) const {
        std::vector<int> flat = cur_;
        for (std::size_t j = 1; j <= k; ++j) flat[step_[j].unit] = step_[j].block;
        return flat;
    }

    // the point whose S is nearest the predicted crossing, kept a quarter of the bracket off
    // its ends (a prediction interpolated across a wide bracket otherwise creeps one step per
    // evaluation); the middle without a prediction
    std::size_t probe() {
        const std::size_t gap = hi_ - lo_, margin = gap / 4;
        std::size_t a = std::max(lo_ + 1, lo_ + margin), b = std::min(hi_ - 1, hi_ - margin);
        std::size_t k = lo_ + gap / 2;
        if (a > b) a = b = k;
        if (const auto x = model_.crossing(p_.accuracy_threshold)) {
            k = a;
            for (std::size_t j = a; j <= b; ++j)
                if (std::abs(S_[j] - *x) < std::abs(S_[k] - *x)) k = j;
        }
        return std::clamp(k, a, b);
    }

    void close_bracket() {
        if (hi_ == step_.size()) {  // the whole path meets the threshold
            phase_ = Phase::Done;
            return;
        }
        const Event& e = step_[hi_];
        const auto& s = s_[e.unit];
        for (std::size_t b = 0; b < s.size(); ++b)
            if (s[b] >= s[static_cast<std::size_t>(e.block)]) allowed_[e.unit][b] = 0;
        cur_ = path_point(lo_);
        start_path();
    }

    std::size_t budget_;
    SearchProblem p_;
    UnitLayout layout_{SearchProblem{}};
    std::vector<std::vector<double>> s_, c_;
    std::vector<std::vector<char>> allowed_;
    std::vector<int> cur_;                  // the last configuration known to meet the threshold
    std::vector<double> S_;                 // summed score along the path
    std::vector<Event> step_;               // step_[k]: the change from point k-1 to point k (k >= 1)
    std::size_t lo_ = 0, hi_ = 0;
    std::optional<std::size_t> pending_;
    std::size_t evals_ = 0;
    Phase phase_ = Phase::Done;
    IsotonicModel model_;
    BestTracker best_;
};

}  // namespace

void register_hawx_lagrange(Registry& r) { add<HawxLagrange>(r); }

}  // namespace hawx::search
