// `nsga2`: NSGA-II (Deb et al. 2002) on per-layer block choices with two objectives,
// maximise accuracy and minimise power, as in ALWANN. The answer is the cheapest evaluated
// configuration that meets the threshold; the final population approximates the front.
// init = near_safe starts a few layers away from the safest configuration instead of at random.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "common.hpp"
#include "strategies.hpp"

namespace hawx::search {
namespace {

struct Member {
    std::vector<int> genes;
    double acc = 0, cost = 0;
    int rank = 0;
    double crowd = 0;
};

class Nsga2 final : public SearchStrategy {
public:
    static ComponentInfo describe() {
        return {"nsga2", Kind::Search, "1.0", "NSGA-II over per-layer blocks, accuracy vs power (ALWANN-like)",
                {ParamSpec::integer("population", "population size").with_default(20).in_range(2, 1e6),
                 ParamSpec::integer("generations", "generations after the initial population").with_default(10).in_range(0, 1e6),
                 ParamSpec::real("crossover", "probability of uniform crossover").with_default(0.9).in_range(0, 1),
                 ParamSpec::real("mutation", "per-gene mutation probability (0: 1/layers)").with_default(0.0).in_range(0, 1),
                 ParamSpec::string("init",
                                   "initial population besides the safest configuration: random (every layer a random "
                                   "block) or near_safe (the safest with 1 to ceil(layers/4) layers on random blocks)")
                     .with_default("random")
                     .one_of({"random", "near_safe"})}};
    }
    explicit Nsga2(const Params& p)
        : pop_size_(static_cast<std::size_t>(p.get_int("population"))),
          generations_(static_cast<std::size_t>(p.get_int("generations"))),
          crossover_(p.get_float("crossover")),
          mutation_(p.get_float("mutation")),
          near_safe_(p.get_string("init") == "near_safe") {}

    void start(const SearchProblem& problem) override {
        p_ = problem;
        rng_ = Rng(p_.seed);
        seen_.clear();
        population_.clear();
        offspring_.clear();
        generation_ = 0;
        told_ = 0;
        best_ = BestTracker();
        const std::size_t L = p_.layers.size(), B = p_.block_names.size();
        if (B == 0) return;
        const auto lcost = layer_costs(p_);
        // the safest configuration anchors the accurate end of the front; the rest is random,
        // or (near_safe) a few layers away from it: on a deep network where some blocks
        // collapse accuracy alone, a random configuration almost always holds one of them and
        // the population never reaches the feasible region (ResNet-18, EXPERIMENTS.md)
        std::vector<int> safe;
        for (std::size_t l = 0; l < L; ++l) safe.push_back(safest_block(p_, lcost, l));
        offspring_.push_back(safe);
        const std::size_t reach = std::max<std::size_t>(1, (L + 3) / 4);
        while (offspring_.size() < pop_size_) {
            std::vector<int> g(L);
            if (!near_safe_ || B < 2) {
                for (auto& b : g) b = static_cast<int>(rng_.below(B));
            } else {
                g = safe;
                std::vector<std::size_t> layers(L);
                for (std::size_t l = 0; l < L; ++l) layers[l] = l;
                const std::size_t k = 1 + static_cast<std::size_t>(rng_.below(reach));
                for (std::size_t i = 0; i < k; ++i) {  // k distinct layers, each on another block
                    std::swap(layers[i], layers[i + static_cast<std::size_t>(rng_.below(L - i))]);
                    const std::size_t l = layers[i];
                    const int other = static_cast<int>(rng_.below(B - 1));
                    g[l] = other >= safe[l] ? other + 1 : other;
                }
            }
            offspring_.push_back(g);
        }
    }

    std::vector<Configuration> ask() override {
        if (offspring_.empty()) return {};
        std::vector<Configuration> out;
        for (const auto& g : offspring_) out.push_back(layer_uniform(p_, g));
        return out;
    }

    void tell(const Configuration& c, const Outcome& o) override {
        best_.offer(p_, c, o);
        std::vector<int> g;
        for (const auto& layer : c.blocks) g.push_back(layer[0]);
        seen_[g] = {o.status == EvalStatus::Evaluated ? o.accuracy : 0.0, cost_of(p_, c, o)};
        if (++told_ < offspring_.size()) return;
        told_ = 0;
        // merge parents and offspring, keep the best pop_size_ by rank then crowding
        std::vector<Member> all = population_;
        for (const auto& og : offspring_) {
            Member m;
            m.genes = og;
            m.acc = seen_.at(og).first;
            m.cost = seen_.at(og).second;
            all.push_back(m);
        }
        population_ = select(all);
        offspring_.clear();
        if (generation_++ < generations_) breed();
    }

    std::optional<Configuration> best() const override { return best_.best(); }

private:
    static bool dominates(const Member& a, const Member& b) {
        const double aa = std::isnan(a.acc) ? -std::numeric_limits<double>::infinity() : a.acc;
        const double ba = std::isnan(b.acc) ? -std::numeric_limits<double>::infinity() : b.acc;
        return aa >= ba && a.cost <= b.cost && (aa > ba || a.cost < b.cost);
    }

    std::vector<Member> select(std::vector<Member> all) const {
        // fast non-dominated sort
        const std::size_t n = all.size();
        std::vector<std::vector<std::size_t>> dominated(n);
        std::vector<int> count(n, 0);
        std::vector<std::vector<std::size_t>> fronts(1);
        for (std::size_t i = 0; i < n; ++i) {
            for (std::size_t j = 0; j < n; ++j) {
                if (i == j) continue;
                if (dominates(all[i], all[j])) dominated[i].push_back(j);
                else if (dominates(all[j], all[i])) ++count[i];
            }
            if (count[i] == 0) all[i].rank = 0, fronts[0].push_back(i);
        }
        for (std::size_t f = 0; !fronts[f].empty(); ++f) {
            std::vector<std::size_t> next;
            for (std::size_t i : fronts[f])
                for (std::size_t j : dominated[i])
                    if (--count[j] == 0) all[j].rank = static_cast<int>(f + 1), next.push_back(j);
            fronts.push_back(next);
        }
        std::vector<Member> out;
        for (const auto& front : fronts) {
            if (front.empty()) break;
            std::vector<std::size_t> idx = front;
            crowding(all, idx);
            if (out.size() + idx.size() <= pop_size_) {
                for (std::size_t i : idx) out.push_back(all[i]);
                continue;
            }
            std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return all[a].crowd > all[b].crowd; });
            for (std::size_t k = 0; out.size() < pop_size_; ++k) out.push_back(all[idx[k]]);
            break;
        }
        return out;
    }

    static void crowding(std::vector<Member>& all, std::vector<std::size_t>& idx) {
        for (std::size_t i : idx) all[i].crowd = 0;
        const double inf = std::numeric_limits<double>::infinity();
        for (int obj = 0; obj < 2; ++obj) {
            auto val = [&](std::size_t i) { return obj == 0 ? all[i].acc : all[i].cost; };
            std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return val(a) < val(b); });
            const double span = val(idx.back()) - val(idx.front());
            all[idx.front()].crowd = all[idx.back()].crowd = inf;
            if (!(span > 0)) continue;
            for (std::size_t k = 1; k + 1 < idx.size(); ++k) all[idx[k]].crowd += (val(idx[k + 1]) - val(idx[k - 1])) / span;
        }
    }

    const Member& tournament() {
        const Member& a = population_[rng_.below(population_.size())];
        const Member& b = population_[rng_.below(population_.size())];
        if (a.rank != b.rank) return a.rank < b.rank ? a : b;
        return a.crowd >= b.crowd ? a : b;
    }

    void breed() {
        const std::size_t L = p_.layers.size();
        const std::uint64_t B = p_.block_names.size();
        const double pm = mutation_ > 0 ? mutation_ : 1.0 / static_cast<double>(std::max<std::size_t>(L, 1));
        while (offspring_.size() < pop_size_) {
            std::vector<int> child = tournament().genes;
            const std::vector<int>& other = tournament().genes;
            if (rng_.uniform() < crossover_)
                for (std::size_t l = 0; l < L; ++l)
                    if (rng_.uniform() < 0.5) child[l] = other[l];
            for (std::size_t l = 0; l < L; ++l)
                if (rng_.uniform() < pm) child[l] = static_cast<int>(rng_.below(B));
            offspring_.push_back(child);
        }
    }

    std::size_t pop_size_, generations_;
    double crossover_, mutation_;
    bool near_safe_;
    SearchProblem p_;
    Rng rng_{0};
    std::map<std::vector<int>, std::pair<double, double>> seen_;
    std::vector<Member> population_;
    std::vector<std::vector<int>> offspring_;
    std::size_t told_ = 0, generation_ = 0;
    BestTracker best_;
};

}  // namespace

void register_nsga2(Registry& r) { add<Nsga2>(r); }

}  // namespace hawx::search
