// `greedy` (MAX-DNN style): start from the safest block on every layer; then, layer by layer,
// try the layer's cheaper blocks from the cheapest (most aggressive) up and keep the first
// that still meets the threshold. One evaluation per try. Layers are taken by decreasing cost
// of their safest block (`order` = cost: the accuracy budget goes first where it saves most)
// or in forward order (`order` = forward, which spends it on the small first layers).
#include <algorithm>
#include <numeric>

#include "common.hpp"
#include "strategies.hpp"

namespace hawx::search {
namespace {

class Greedy final : public SearchStrategy {
public:
    static ComponentInfo describe() {
        return {"greedy", Kind::Search, "1.0",
                "MAX-DNN style: layer by layer, the most aggressive block that keeps the threshold",
                {ParamSpec::integer("evaluations", "evaluation budget (0: as many as the algorithm needs)")
                     .with_default(0)
                     .in_range(0, 1e9),
                 ParamSpec::string("order", "layer order: cost (most expensive first) or forward")
                     .with_default("cost")
                     .one_of({"cost", "forward"})}};
    }
    explicit Greedy(const Params& p)
        : budget_(static_cast<std::uint64_t>(p.get_int("evaluations"))), by_cost_(p.get_string("order") == "cost") {}

    void start(const SearchProblem& problem) override {
        p_ = problem;
        lcost_ = layer_costs(p_);
        current_.clear();
        for (std::size_t l = 0; l < p_.layers.size(); ++l) current_.push_back(safest_block(p_, lcost_, l));
        order_.resize(p_.layers.size());
        std::iota(order_.begin(), order_.end(), std::size_t{0});
        if (by_cost_)
            std::stable_sort(order_.begin(), order_.end(), [&](std::size_t a, std::size_t b) {
                return lcost_[a][static_cast<std::size_t>(current_[a])] > lcost_[b][static_cast<std::size_t>(current_[b])];
            });
        layer_ = 0;
        tried_ = 0;
        asked_ = 0;
        started_ = false;
        finished_ = p_.block_names.empty();
        best_ = BestTracker();
    }

    std::vector<Configuration> ask() override {
        if (finished_ || (budget_ && asked_ >= budget_)) return {};
        ++asked_;
        if (!started_) return {layer_uniform(p_, current_)};
        std::vector<int> trial = current_;
        trial[order_[layer_]] = candidates_[tried_];
        return {layer_uniform(p_, trial)};
    }

    void tell(const Configuration& c, const Outcome& o) override {
        best_.offer(p_, c, o);
        const bool ok = meets_threshold(o, p_.accuracy_threshold);
        if (!started_) {
            started_ = true;
            if (!ok) {
                finished_ = true;  // not even the safest configuration meets the threshold
                return;
            }
            layer_ = 0;
            prepare_layer();
            return;
        }
        if (ok) {
            current_[order_[layer_]] = candidates_[tried_];
            ++layer_;
            prepare_layer();
        } else if (++tried_ >= candidates_.size()) {
            ++layer_;
            prepare_layer();
        }
    }

    std::optional<Configuration> best() const override { return best_.best(); }

private:
    // candidates of the next layer that has any: blocks cheaper than its current one, cheapest first
    void prepare_layer() {
        tried_ = 0;
        for (; layer_ < p_.layers.size(); ++layer_) {
            const std::size_t l = order_[layer_];
            const auto& c = lcost_[l];
            const double now = c[static_cast<std::size_t>(current_[l])];
            candidates_.clear();
            for (std::size_t b = 0; b < c.size(); ++b)
                if (c[b] < now) candidates_.push_back(static_cast<int>(b));
            std::stable_sort(candidates_.begin(), candidates_.end(),
                             [&](int a, int b) { return c[static_cast<std::size_t>(a)] < c[static_cast<std::size_t>(b)]; });
            if (!candidates_.empty()) return;
        }
        finished_ = true;
    }

    std::uint64_t budget_;
    bool by_cost_;
    std::vector<std::size_t> order_;  // layers in the order they are decided
    SearchProblem p_;
    std::vector<std::vector<double>> lcost_;
    std::vector<int> current_, candidates_;
    std::size_t layer_ = 0, tried_ = 0;
    std::uint64_t asked_ = 0;
    bool started_ = false, finished_ = true;
    BestTracker best_;
};

}  // namespace

void register_greedy(Registry& r) { add<Greedy>(r); }

}  // namespace hawx::search
