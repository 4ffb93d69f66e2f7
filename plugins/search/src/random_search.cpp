// `random`: uniform random per-layer (or per-unit) block choices, a fixed number of them.
#include "common.hpp"
#include "strategies.hpp"

namespace hawx::search {
namespace {

class RandomSearch final : public SearchStrategy {
public:
    static ComponentInfo describe() {
        return {"random", Kind::Search, "1.0", "uniformly random configurations; the cheapest that meets the threshold",
                {ParamSpec::integer("evaluations", "configurations to draw").with_default(100).in_range(1, 1e9),
                 ParamSpec::integer("batch", "configurations per ask()").with_default(16).in_range(1, 1e6),
                 ParamSpec::boolean("per_unit", "draw every unit independently (else one block per layer)")
                     .with_default(false)}};
    }
    explicit RandomSearch(const Params& p)
        : total_(static_cast<std::uint64_t>(p.get_int("evaluations"))),
          batch_(static_cast<std::uint64_t>(p.get_int("batch"))),
          per_unit_(p.get_bool("per_unit")) {}

    void start(const SearchProblem& problem) override {
        p_ = problem;
        rng_ = Rng(p_.seed);
        drawn_ = 0;
        best_ = BestTracker();
    }

    std::vector<Configuration> ask() override {
        std::vector<Configuration> out;
        const std::uint64_t B = p_.block_names.size();
        const UnitLayout layout(p_, true);  // the accelerator's unit groups, where it has them
        while (drawn_ < total_ && out.size() < batch_ && B > 0) {
            ++drawn_;
            if (per_unit_) {
                std::vector<int> flat(layout.total);
                for (auto& b : flat) b = static_cast<int>(rng_.below(B));
                out.push_back(layout.make(p_, flat));
            } else {
                std::vector<int> per_layer(p_.layers.size());
                for (auto& b : per_layer) b = static_cast<int>(rng_.below(B));
                out.push_back(layer_uniform(p_, per_layer));
            }
        }
        return out;
    }

    void tell(const Configuration& c, const Outcome& o) override { best_.offer(p_, c, o); }
    std::optional<Configuration> best() const override { return best_.best(); }

private:
    std::uint64_t total_, batch_;
    bool per_unit_;
    SearchProblem p_;
    Rng rng_{0};
    std::uint64_t drawn_ = 0;
    BestTracker best_;
};

}  // namespace

void register_random(Registry& r) { add<RandomSearch>(r); }

}  // namespace hawx::search
