// `hawx-predict`: a boundary search on measured single-layer drops instead of summed scores.
// The problem's drop predictor (SearchProblem::predict_drop: every block in every layer
// measured alone on training images, added up; docs/search.md) gives each unit's predicted
// drop d(u, b) and its marginal cost c(u, b). Then
//   1. the predicted Pareto front: for every predicted drop D, the cheapest configuration
//      whose summed d is at most D (a dynamic programme over the units, exact unless the
//      front grows past 4000 points), from all-exact to the cheapest configuration predicted
//      within 20x the allowed drop;
//   1b. where the problem can measure whole configurations on those training images
//      (SearchProblem::measure_drop; `measurements` > 0): the front's points within 4x the
//      allowed drop are measured, then the one-step changes (a layer, or a unit, to another
//      block) of the measured front's points, smallest estimated drop first, until the budget
//      is spent or nothing new is in reach; the front becomes the Pareto set of what was
//      measured. Single-layer drops do not add up (on the hard ladder's LeNet-5s the
//      additive front's points lose 0.5-1.5x their summed drops); measured ones leave only
//      the training-to-validation shift and the validation split's own noise;
//   2. a bracket [lo meets, hi misses] on the front, probed where the evaluations so far put
//      the allowed drop: measured = r x predicted, r the least-squares ratio through the
//      origin (training images are classified more confidently than validation images, so
//      r is usually > 1); the first probe takes r = 1;
//   3. once the bracket closes (below layer granularity: or when two evaluations are left and
//      it has both ends): below layer granularity, parts of the failing step (lo with
//      some of the units where it differs from hi moved, bisected); then neighbours (one unit
//      changed) of the configurations evaluated so far that are cheaper than the best one
//      found, smallest predicted drop first: near the threshold the front's next point and
//      its neighbours are within the validation split's noise of each other, and any of them
//      may meet it.
// The answer is the cheapest evaluated configuration that meets the threshold.
#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>
#include <set>

#include "common.hpp"
#include "strategies.hpp"

namespace hawx::search {
namespace {

class HawxPredict final : public SearchStrategy {
public:
    static ComponentInfo describe() {
        return {"hawx-predict", Kind::Search, "1.1",
                "the predicted Pareto front of summed single-layer drops (measured on training images), refined by "
                "measuring whole configurations there, bracketed with real evaluations at the calibrated crossing, "
                "then the cheaper neighbours of what was evaluated",
                {ParamSpec::integer("evaluations", "evaluation budget").with_default(5).in_range(1, 1e6),
                 ParamSpec::integer("measurements",
                                    "whole configurations measured on the drop predictor's training images before the "
                                    "first evaluation (forward passes, not accuracy evaluations; 0: the additive front "
                                    "only)")
                     .with_default(150)
                     .in_range(0, 1e6),
                 ParamSpec::string("front",
                                   "below layer granularity, the predicted front's steps: layer (every unit of a "
                                   "layer on one block; units differ only in the refinement) or unit")
                     .with_default("layer")
                     .one_of({"layer", "unit"})}};
    }
    explicit HawxPredict(const Params& p)
        : budget_(static_cast<std::size_t>(p.get_int("evaluations"))),
          measure_budget_(static_cast<std::size_t>(p.get_int("measurements"))),
          per_layer_(p.get_string("front") == "layer") {}

    void start(const SearchProblem& problem) override {
        p_ = problem;
        const std::string who = p_.strategy_name.empty() ? "search.hawx-predict" : p_.strategy_name;
        if (!p_.predict_drop)
            throw Error(who + ": needs the drop predictor (SearchProblem::predict_drop), which hawx run provides");
        if (p_.exact_block < 0) throw Error(who + ": needs an exact block among the experiment's blocks");
        layout_ = UnitLayout(p_, true);  // the accelerator's unit groups, where it has them
        const std::size_t B = p_.block_names.size(), U = layout_.total;
        const auto lcost = layer_costs(p_);
        d_.assign(U, std::vector<double>(B, 0.0));
        c_.assign(U, std::vector<double>(B, 0.0));
        std::vector<int> flat(U, p_.exact_block);
        for (std::size_t l = 0; l < p_.layers.size(); ++l)
            for (std::size_t u = 0; u < layout_.units[l]; ++u) {
                const std::size_t i = layout_.offset[l] + u;
                for (std::size_t b = 0; b < B; ++b) {
                    c_[i][b] = lcost[l][b] * layout_.share(l, i);
                    if (static_cast<int>(b) == p_.exact_block) continue;
                    if (p_.predict_unit_drop) {
                        for (std::size_t m : layout_.members[i]) d_[i][b] += p_.predict_unit_drop(l, m, static_cast<int>(b));
                        continue;
                    }
                    flat[i] = static_cast<int>(b);
                    d_[i][b] = p_.predict_drop(layout_.make(p_, flat));
                    flat[i] = p_.exact_block;
                }
            }
        allowed_drop_ = p_.baseline_accuracy - p_.accuracy_threshold;
        make_groups();
        measured_.clear();
        build_front();
        if (p_.measure_drop && measure_budget_ > 0) refine_front();
        lo_ = -1;
        hi_ = static_cast<long>(front_.size());
        // the all-exact design is the baseline itself: known to meet the threshold
        if (!front_.empty() && std::all_of(front_[0].flat.begin(), front_[0].flat.end(),
                                           [&](int b) { return b == p_.exact_block; }))
            lo_ = 0;
        evals_ = 0;
        fits_.clear();
        seen_.clear();
        evaluated_.clear();
        best_ = BestTracker();
        best_flat_.reset();
        pending_front_.reset();
        lo_fit_.reset();
        hi_fit_.reset();
        split_.reset();
        pending_split_.reset();
    }

    std::vector<Configuration> ask() override {
        if (evals_ >= budget_ || front_.empty()) return {};
        std::optional<std::vector<int>> next;
        // Below layer granularity the last two evaluations go to the split once the bracket
        // has both ends (a bracket over hundreds of filters can use the whole budget: VGG-11).
        const bool reserve = p_.granularity != Granularity::Layer && lo_ >= 0 &&
                             hi_ < static_cast<long>(front_.size()) && budget_ - evals_ <= 2 && budget_ >= 4;
        if (hi_ - lo_ > 1 && !reserve) {
            pending_front_ = probe();
            next = front_[static_cast<std::size_t>(*pending_front_)].flat;
        } else {
            pending_front_.reset();
            next = split_step();
            if (!next) next = cheaper_neighbour();
        }
        if (!next) return {};
        seen_.insert(*next);
        return {layout_.make(p_, *next)};
    }

    void tell(const Configuration& c, const Outcome& o) override {
        ++evals_;
        const std::vector<int> flat = layout_.flatten(c);
        evaluated_.push_back(flat);
        const bool ok = meets_threshold(o, p_.accuracy_threshold);
        best_.offer(p_, c, o);
        if (ok && (!best_flat_ || table_cost(flat) < table_cost(*best_flat_))) best_flat_ = flat;
        if (o.status == EvalStatus::Evaluated && std::isfinite(o.accuracy))
            fits_.push_back({predicted(flat), p_.baseline_accuracy - o.accuracy});
        if (pending_front_) {
            const std::pair<double, double> fit{predicted(flat), p_.baseline_accuracy - o.accuracy};
            const bool measured = o.status == EvalStatus::Evaluated && std::isfinite(o.accuracy);
            if (ok && *pending_front_ > lo_) lo_ = *pending_front_, lo_fit_ = fit;
            if (!ok && *pending_front_ < hi_) hi_ = *pending_front_, hi_fit_ = measured ? std::optional(fit) : std::nullopt;
            pending_front_.reset();
        }
        if (pending_split_) {
            if (ok) split_->k_lo = *pending_split_;
            else split_->k_hi = *pending_split_;
            pending_split_.reset();
        }
    }

    std::optional<Configuration> best() const override { return best_.best(); }

private:
    struct Point {
        double drop, cost;
        std::vector<int> flat;
    };

    // The measured drop where refine_front measured it, else the sum of single drops.
    double predicted(const std::vector<int>& flat) const {
        if (const auto it = measured_.find(flat); it != measured_.end()) return it->second;
        double s = 0;
        for (std::size_t i = 0; i < flat.size(); ++i) s += d_[i][static_cast<std::size_t>(flat[i])];
        return s;
    }
    double table_cost(const std::vector<int>& flat) const {
        double s = 0;
        for (std::size_t i = 0; i < flat.size(); ++i) s += c_[i][static_cast<std::size_t>(flat[i])];
        return s;
    }

    // The front's steps: every unit, or (front = layer) every layer with all its units on one
    // block, their drops and costs summed.
    void make_groups() {
        groups_.clear();
        for (std::size_t l = 0; l < p_.layers.size(); ++l) {
            if (per_layer_) groups_.emplace_back(layout_.offset[l], layout_.offset[l] + layout_.units[l]);
            else
                for (std::size_t u = 0; u < layout_.units[l]; ++u)
                    groups_.emplace_back(layout_.offset[l] + u, layout_.offset[l] + u + 1);
        }
    }

    // Step 1b: the front rebuilt from whole configurations measured on the training images.
    void refine_front() {
        const double cap = 4.0 * std::max(allowed_drop_, 0.05);
        std::vector<int> exact(layout_.total, p_.exact_block);
        measured_[exact] = 0.0;  // the baseline itself
        std::size_t spent = 0;
        // Measures the first entries of `batch` (priority order) that the budget allows, in
        // lexicographic order: consecutive configurations then share their first layers, which
        // the problem's staged measurement does not rerun.
        const auto measure = [&](std::vector<std::vector<int>> batch) {
            batch.resize(std::min(batch.size(), measure_budget_ - spent));
            std::sort(batch.begin(), batch.end());
            for (const auto& f : batch) measured_[f] = p_.measure_drop(layout_.make(p_, f));
            spent += batch.size();
            return !batch.empty();
        };
        // The predicted front's points within the cap, at most a third of the budget, spread
        // evenly over it (a budget spent from its low end never reaches the crossing).
        std::vector<std::vector<int>> batch;
        std::size_t within = 0;
        while (within < front_.size() && front_[within].drop <= cap) ++within;
        const std::size_t first = std::max<std::size_t>(measure_budget_ / 3, 1);
        for (std::size_t k = 0; k < std::min(first, within); ++k) {
            const std::size_t at = within <= first ? k : k * (within - 1) / (first - 1 > 0 ? first - 1 : 1);
            if (!measured_.count(front_[at].flat)) batch.push_back(front_[at].flat);
        }
        measure(std::move(batch));
        const std::size_t B = p_.block_names.size();
        while (spent < measure_budget_) {
            // One-step changes of the measured front's points: their drop estimated as the
            // point's measured drop plus the step's change in summed single drops; those the
            // estimate puts below the measured front, largest estimated saving first.
            const std::vector<Point> mf = measured_front(cap);
            // Steps as (saving, point, group, block) first, configurations only for those
            // taken; with tens of thousands of unit steps (operation granularity, front =
            // unit) the rounds are skipped and the front is the measured predicted one.
            if (static_cast<double>(mf.size()) * static_cast<double>(groups_.size()) * static_cast<double>(B) > 4e6)
                break;
            struct Step {
                double saving;
                std::size_t point, group;
                int block;
            };
            std::vector<Step> steps;
            for (std::size_t k = 0; k < mf.size(); ++k)
                for (std::size_t g = 0; g < groups_.size(); ++g)
                    for (std::size_t b = 0; b < B; ++b) {
                        const auto [first, last] = groups_[g];
                        double est = mf[k].drop, cost = mf[k].cost;
                        bool same = true;
                        for (std::size_t i = first; i < last; ++i) {
                            const auto cur = static_cast<std::size_t>(mf[k].flat[i]);
                            same = same && cur == b;
                            est += d_[i][b] - d_[i][cur];
                            cost += c_[i][b] - c_[i][cur];
                        }
                        if (same || est > cap) continue;
                        // the cheapest measured cost at or below the estimated drop (mf: drop
                        // ascending, cost descending)
                        const auto at = std::upper_bound(mf.begin(), mf.end(), est,
                                                         [](double x, const Point& q) { return x < q.drop; });
                        const double front_cost =
                            at == mf.begin() ? std::numeric_limits<double>::infinity() : std::prev(at)->cost;
                        if (front_cost - cost > 1e-12) steps.push_back({front_cost - cost, k, g, static_cast<int>(b)});
                    }
            std::stable_sort(steps.begin(), steps.end(), [](const Step& a, const Step& b) { return a.saving > b.saving; });
            const std::size_t round = std::max<std::size_t>(mf.size(), 10);  // then rebuild the front
            std::set<std::vector<int>> taken;
            batch.clear();
            for (const Step& st : steps) {
                if (batch.size() >= round) break;
                std::vector<int> n = mf[st.point].flat;
                std::fill(n.begin() + static_cast<std::ptrdiff_t>(groups_[st.group].first),
                          n.begin() + static_cast<std::ptrdiff_t>(groups_[st.group].second), st.block);
                if (measured_.count(n) || !taken.insert(n).second) continue;
                batch.push_back(std::move(n));
            }
            if (!measure(std::move(batch))) break;
        }
        front_ = measured_front(cap);
    }

    // Pareto set of the measured configurations with drop <= cap: drop ascending, cost descending.
    std::vector<Point> measured_front(double cap) const {
        std::vector<Point> pts;
        for (const auto& [f, d] : measured_)
            if (d <= cap) pts.push_back({d, table_cost(f), f});
        std::sort(pts.begin(), pts.end(), [](const Point& a, const Point& b) {
            return a.drop < b.drop || (a.drop == b.drop && a.cost < b.cost);
        });
        std::vector<Point> out;
        for (Point& p : pts)
            if (out.empty() || p.cost < out.back().cost - 1e-12) out.push_back(std::move(p));
        return out;
    }

    // Pareto dynamic programme over the units: states are (summed drop, summed cost) with a
    // back pointer; after each unit only states cheaper than every state of smaller drop
    // survive, and when more than kStates do, the drop axis is bucketed and each bucket keeps
    // its cheapest state (exact for the layer-level problems we know; filter-level fronts
    // over hundreds of units are thinned).
    void build_front() {
        front_.clear();
        const std::size_t B = p_.block_names.size();
        const auto& groups = groups_;
        const std::size_t U = groups.size();
        std::vector<std::vector<double>> gd(U, std::vector<double>(B, 0.0)), gc = gd;
        for (std::size_t g = 0; g < U; ++g)
            for (std::size_t i = groups[g].first; i < groups[g].second; ++i)
                for (std::size_t b = 0; b < B; ++b) gd[g][b] += d_[i][b], gc[g][b] += c_[i][b];
        const double dmax = 20.0 * std::max(allowed_drop_, 0.05);
        constexpr std::size_t kStates = 4000;
        struct State {
            double drop, cost;
            std::size_t parent;
            int block;
        };
        std::vector<std::vector<State>> stages(U + 1);
        stages[0].push_back({0.0, 0.0, 0, -1});
        std::vector<State> next;
        for (std::size_t i = 0; i < U; ++i) {
            next.clear();
            const auto& prev = stages[i];
            for (std::size_t s = 0; s < prev.size(); ++s)
                for (std::size_t b = 0; b < B; ++b) {
                    const State n{prev[s].drop + gd[i][b], prev[s].cost + gc[i][b], s, static_cast<int>(b)};
                    if (n.drop <= dmax) next.push_back(n);
                }
            std::sort(next.begin(), next.end(), [](const State& a, const State& b) {
                return a.drop < b.drop || (a.drop == b.drop && a.cost < b.cost);
            });
            std::vector<State> pareto;
            for (const State& st : next)
                if (pareto.empty() || st.cost < pareto.back().cost) pareto.push_back(st);
            if (pareto.size() > kStates) {
                const double lo = pareto.front().drop, width = (pareto.back().drop - lo) / static_cast<double>(kStates);
                std::vector<State> thin;
                for (const State& st : pareto) {
                    const bool same = !thin.empty() &&
                                      std::floor((st.drop - lo) / width) == std::floor((thin.back().drop - lo) / width);
                    if (same) thin.back() = st;  // later in a bucket = cheaper
                    else thin.push_back(st);
                }
                pareto.swap(thin);
            }
            stages[i + 1] = std::move(pareto);
        }
        for (std::size_t s = 0; s < stages[U].size(); ++s) {
            Point pt{stages[U][s].drop, stages[U][s].cost, std::vector<int>(layout_.total)};
            std::size_t at = s;
            for (std::size_t g = U; g-- > 0;) {
                std::fill(pt.flat.begin() + static_cast<std::ptrdiff_t>(groups[g].first),
                          pt.flat.begin() + static_cast<std::ptrdiff_t>(groups[g].second), stages[g + 1][at].block);
                at = stages[g + 1][at].parent;
            }
            front_.push_back(std::move(pt));
        }
    }

    // The front point at the predicted crossing, strictly inside the bracket. Before a miss,
    // measured = r x predicted (least squares through the origin over every evaluation);
    // once the bracket has ends, the secant between them (the all-exact design counts as
    // predicted 0, measured 0), kept a tenth of the bracket's predicted span from either end
    // so that a dense front is not walked one point per evaluation.
    long probe() const {
        double x;
        if (hi_ < static_cast<long>(front_.size()) && hi_fit_) {
            const auto [d0, m0] = lo_fit_.value_or(std::pair<double, double>{0.0, 0.0});
            const auto [d1, m1] = *hi_fit_;
            x = m1 > m0 ? d0 + (allowed_drop_ - m0) * (d1 - d0) / (m1 - m0) : 0.5 * (d0 + d1);
            const double margin = 0.1 * (d1 - d0);
            x = std::clamp(x, d0 + margin, d1 - margin);
        } else {
            double r = 1.0, num = 0, den = 0;
            for (const auto& [pred, meas] : fits_)
                if (pred > 0) num += pred * meas, den += pred * pred;
            if (den > 0) r = std::clamp(num / den, 0.05, 20.0);
            x = allowed_drop_ / r;
        }
        // with one evaluation left and nothing found yet, aim well inside the threshold
        if (!best_flat_ && evals_ + 1 == budget_) x = std::min(x, 0.5 * allowed_drop_);
        long j = -1;
        for (std::size_t k = 0; k < front_.size(); ++k)
            if (front_[k].drop <= x) j = static_cast<long>(k);
        return std::clamp(j, lo_ + 1, hi_ - 1);
    }

    // Below layer granularity, part of the failing step: once the bracket has closed between front points lo (meets)
    // and hi (misses) that differ in several units, lo with the first k of those units moved
    // to hi's blocks, bisecting k; the units ordered by predicted drop added per cost saved,
    // so that below layer granularity the filters the scores find least sensitive go first.
    std::optional<std::vector<int>> split_step() {
        // At layer granularity the units are layers: a part of a step is just another layer
        // mix, and on the hard ladder it did worse than the neighbours (0.5 points +0.7%,
        // 1 point +6.4%, against +0.0% and +5.2%).
        if (p_.granularity == Granularity::Layer) return std::nullopt;
        if (!split_) {
            if (lo_ < 0 || hi_ >= static_cast<long>(front_.size())) return std::nullopt;
            Split sp;
            sp.base = front_[static_cast<std::size_t>(lo_)].flat;
            sp.target = front_[static_cast<std::size_t>(hi_)].flat;
            for (std::size_t i = 0; i < sp.base.size(); ++i)
                if (sp.base[i] != sp.target[i]) sp.order.push_back(i);
            // Moves that save cost first (least drop added per cost saved), those that do not
            // (hi also bought accuracy somewhere) last, so every part is cheaper than lo.
            const auto key = [&](std::size_t i) {
                const auto b = static_cast<std::size_t>(sp.base[i]), t = static_cast<std::size_t>(sp.target[i]);
                const double saved = c_[i][b] - c_[i][t];
                return std::pair<bool, double>{!(saved > 0), saved > 0 ? (d_[i][t] - d_[i][b]) / saved : 0.0};
            };
            std::stable_sort(sp.order.begin(), sp.order.end(),
                             [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
            sp.k_hi = sp.order.size();
            split_ = std::move(sp);
        }
        Split& sp = *split_;
        if (sp.k_hi - sp.k_lo <= 1) return std::nullopt;
        const std::size_t k = (sp.k_lo + sp.k_hi) / 2;
        std::vector<int> n = sp.base;
        for (std::size_t j = 0; j < k; ++j) n[sp.order[j]] = sp.target[sp.order[j]];
        if (seen_.count(n)) return std::nullopt;
        pending_split_ = k;
        return n;
    }

    // The unevaluated one-unit change of an evaluated configuration with the smallest
    // predicted (or measured) drop among those cheaper than the best found (ties: the cheaper).
    std::optional<std::vector<int>> cheaper_neighbour() const {
        const double limit = best_flat_ ? table_cost(*best_flat_) : std::numeric_limits<double>::infinity();
        std::optional<std::vector<int>> pick;
        double pick_drop = 0, pick_cost = 0;
        const std::size_t B = p_.block_names.size();
        for (const auto& e : evaluated_) {
            const double d0 = predicted(e), c0 = table_cost(e);
            for (std::size_t i = 0; i < e.size(); ++i)
                for (std::size_t b = 0; b < B; ++b) {
                    const auto cur = static_cast<std::size_t>(e[i]);
                    if (b == cur) continue;
                    const double c = c0 - c_[i][cur] + c_[i][b];
                    if (!(c < limit - 1e-12)) continue;
                    std::vector<int> n = e;
                    n[i] = static_cast<int>(b);
                    const auto m = measured_.find(n);
                    const double d = m != measured_.end() ? m->second : d0 - d_[i][cur] + d_[i][b];
                    if (pick && (d > pick_drop || (d == pick_drop && c >= pick_cost))) continue;
                    if (seen_.count(n)) continue;
                    pick = std::move(n);
                    pick_drop = d;
                    pick_cost = c;
                }
        }
        return pick;
    }

    std::size_t budget_, measure_budget_;
    bool per_layer_;
    std::vector<std::pair<std::size_t, std::size_t>> groups_;  // the front's steps: flat index ranges
    std::map<std::vector<int>, double> measured_;              // drops measured whole (training images)
    SearchProblem p_;
    UnitLayout layout_{SearchProblem{}};
    std::vector<std::vector<double>> d_, c_;  // per unit and block: predicted drop, marginal cost
    double allowed_drop_ = 0;
    std::vector<Point> front_;                // predicted drop ascending, cost descending
    long lo_ = -1, hi_ = 0;                   // front indices: lo meets the threshold, hi misses
    std::optional<long> pending_front_;
    std::optional<std::pair<double, double>> lo_fit_, hi_fit_;
    struct Split {
        std::vector<int> base, target;   // the bracket's ends
        std::vector<std::size_t> order;  // units where they differ, least drop per cost saved first
        std::size_t k_lo = 0, k_hi = 0;  // k_lo units moved meets (0: lo itself), k_hi misses
    };
    std::optional<Split> split_;
    std::optional<std::size_t> pending_split_;  // (predicted, measured) drops of the ends
    std::size_t evals_ = 0;
    std::vector<std::pair<double, double>> fits_;  // (predicted, measured) drops
    std::set<std::vector<int>> seen_;
    std::vector<std::vector<int>> evaluated_;
    std::optional<std::vector<int>> best_flat_;
    BestTracker best_;
};

}  // namespace

void register_hawx_predict(Registry& r) { add<HawxPredict>(r); }

}  // namespace hawx::search
