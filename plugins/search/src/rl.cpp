// `rl`: tabular Q-learning over per-layer decisions (state: the layer being decided; action:
// its block), as in RL-based approximate-computing DSE. An episode picks a block for every
// layer epsilon-greedily and is evaluated; its terminal reward is 1 - cost/cost_safe when the
// accuracy meets the threshold and -(threshold - accuracy)/scale when it does not, so any
// passing configuration outranks any failing one and cheaper passing ones rank higher.
#include <algorithm>
#include <cmath>

#include "common.hpp"
#include "strategies.hpp"

namespace hawx::search {
namespace {

class QLearning final : public SearchStrategy {
public:
    static ComponentInfo describe() {
        return {"rl", Kind::Search, "1.0", "tabular Q-learning over per-layer block decisions (reward: accuracy vs cost)",
                {ParamSpec::integer("episodes", "episodes, one evaluation each").with_default(200).in_range(1, 1e9),
                 ParamSpec::integer("batch", "episodes per ask() (evaluated in parallel, learnt from together)")
                     .with_default(8)
                     .in_range(1, 1e6),
                 ParamSpec::real("alpha", "learning rate").with_default(0.3).in_range(1e-6, 1),
                 ParamSpec::real("epsilon_start", "exploration rate of the first episode").with_default(1.0).in_range(0, 1),
                 ParamSpec::real("epsilon_end", "exploration rate of the last episode").with_default(0.05).in_range(0, 1)}};
    }
    explicit QLearning(const Params& p)
        : episodes_(static_cast<std::uint64_t>(p.get_int("episodes"))),
          batch_(static_cast<std::uint64_t>(p.get_int("batch"))),
          alpha_(p.get_float("alpha")),
          eps0_(p.get_float("epsilon_start")),
          eps1_(p.get_float("epsilon_end")) {}

    void start(const SearchProblem& problem) override {
        p_ = problem;
        rng_ = Rng(p_.seed);
        const auto lcost = layer_costs(p_);
        std::vector<int> safe;
        for (std::size_t l = 0; l < p_.layers.size(); ++l) safe.push_back(safest_block(p_, lcost, l));
        cost_safe_ = std::max(cost_of(p_, layer_uniform(p_, safe)), 1e-300);
        scale_ = std::max(0.1, p_.baseline_accuracy - p_.accuracy_threshold);
        q_.assign(p_.layers.size(), std::vector<double>(p_.block_names.size(), 0.0));
        generated_ = 0;
        best_ = BestTracker();
    }

    std::vector<Configuration> ask() override {
        std::vector<Configuration> out;
        const std::uint64_t B = p_.block_names.size();
        while (generated_ < episodes_ && out.size() < batch_ && B > 0) {
            const double eps = episodes_ > 1 ? eps0_ + (eps1_ - eps0_) * static_cast<double>(generated_) /
                                                           static_cast<double>(episodes_ - 1)
                                             : eps1_;
            ++generated_;
            std::vector<int> a(p_.layers.size());
            for (std::size_t l = 0; l < a.size(); ++l) {
                if (rng_.uniform() < eps) {
                    a[l] = static_cast<int>(rng_.below(B));
                } else {
                    a[l] = static_cast<int>(std::max_element(q_[l].begin(), q_[l].end()) - q_[l].begin());
                }
            }
            out.push_back(layer_uniform(p_, a));
        }
        return out;
    }

    void tell(const Configuration& c, const Outcome& o) override {
        best_.offer(p_, c, o);
        const bool ok = meets_threshold(o, p_.accuracy_threshold);
        const double r = ok ? 1.0 - cost_of(p_, c, o) / cost_safe_
                            : -(o.status != EvalStatus::Evaluated || std::isnan(o.accuracy) ? 1e3 : (p_.accuracy_threshold - o.accuracy) / scale_);
        for (std::size_t l = c.blocks.size(); l-- > 0;) {
            const double target = l + 1 == c.blocks.size() ? r : *std::max_element(q_[l + 1].begin(), q_[l + 1].end());
            double& q = q_[l][static_cast<std::size_t>(c.blocks[l][0])];
            q += alpha_ * (target - q);
        }
    }

    std::optional<Configuration> best() const override { return best_.best(); }

private:
    std::uint64_t episodes_, batch_;
    double alpha_, eps0_, eps1_;
    SearchProblem p_;
    Rng rng_{0};
    double cost_safe_ = 1, scale_ = 1;
    std::vector<std::vector<double>> q_;
    std::uint64_t generated_ = 0;
    BestTracker best_;
};

}  // namespace

void register_rl(Registry& r) { add<QLearning>(r); }

}  // namespace hawx::search
