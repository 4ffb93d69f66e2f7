// `exhaustive`: every configuration, in lexicographic order with the first unit most
// significant, so consecutive configurations share their longest prefixes (the pipeline can
// reuse the outputs of the leading layers across a batch).
#include <cmath>
#include <cstdio>

#include <hawx/sdk/error.hpp>

#include "common.hpp"
#include "strategies.hpp"

namespace hawx::search {
namespace {

class Exhaustive final : public SearchStrategy {
public:
    static ComponentInfo describe() {
        return {"exhaustive", Kind::Search, "1.0",
                "every configuration in lexicographic order (large batches for prefix sharing); refuses huge spaces",
                {ParamSpec::integer("batch", "configurations per ask() (one batch shares prefixes)")
                     .with_default(4096)
                     .in_range(1, 1 << 24),
                 ParamSpec::real("max_configurations", "refuse spaces larger than this")
                     .with_default(1e6)
                     .at_least(1)}};
    }
    explicit Exhaustive(const Params& p)
        : batch_(static_cast<std::size_t>(p.get_int("batch"))), max_(p.get_float("max_configurations")) {}

    void start(const SearchProblem& problem) override {
        p_ = problem;
        layout_ = UnitLayout(p_, true);  // the accelerator's unit groups, where it has them
        const double B = static_cast<double>(p_.block_names.size());
        const double log_n = static_cast<double>(layout_.total) * std::log10(B);
        if (log_n > std::log10(max_) + 1e-12) {
            char buf[320];
            const double log_t = p_.eval_seconds > 0 ? log_n + std::log10(p_.eval_seconds) : NAN;
            std::snprintf(buf, sizeof buf,
                          "exhaustive search: N_exh = %zu^%zu = 10^%.2f configurations exceeds max_configurations = %g "
                          "(estimated time 10^%.2f s = 10^%.2f years at %.3g s per evaluation)",
                          p_.block_names.size(), layout_.total, log_n, max_, log_t, log_t - std::log10(3.15576e7),
                          p_.eval_seconds);
            throw Error(buf);
        }
        next_.assign(layout_.total, 0);
        done_ = p_.block_names.empty();
        best_ = BestTracker();
    }

    std::vector<Configuration> ask() override {
        std::vector<Configuration> out;
        const int B = static_cast<int>(p_.block_names.size());
        while (!done_ && out.size() < batch_) {
            out.push_back(layout_.make(p_, next_));
            // odometer increment, last unit fastest
            std::size_t i = next_.size();
            for (;;) {
                if (i == 0) {
                    done_ = true;
                    break;
                }
                --i;
                if (++next_[i] < B) break;
                next_[i] = 0;
            }
        }
        return out;
    }

    void tell(const Configuration& c, const Outcome& o) override { best_.offer(p_, c, o); }
    std::optional<Configuration> best() const override { return best_.best(); }

private:
    std::size_t batch_;
    double max_;
    SearchProblem p_;
    UnitLayout layout_{SearchProblem{}};
    std::vector<int> next_;
    bool done_ = true;
    BestTracker best_;
};

}  // namespace

void register_exhaustive(Registry& r) { add<Exhaustive>(r); }

}  // namespace hawx::search
