#include "hawx/blocks/loa_add.hpp"

#include <algorithm>

#include "hawx/blocks/adders.hpp"

namespace hawx::blocks {

ComponentInfo LoaAdd::describe() {
    return {"loa_add", Kind::Block, "1.0",
            "lower-part OR adder (Mahdiani et al. 2010): k low bits OR-ed, carry-in a_{k-1} AND b_{k-1}",
            with_cost_params({signed_param(), bits_param(),
                              ParamSpec::integer("k", "low result bits computed as a_i OR b_i (at most bits; 0: exact)")
                                  .with_default(4)
                                  .in_range(0, 8)})};
}

LoaAdd::LoaAdd(const Params& p) : ArithmeticBlock(BlockOp::Add, p), k_(static_cast<int>(p.get_int("k"))) {
    if (k_ > bits_)
        throw param_error("loa_add", "k", "= " + std::to_string(k_) + " exceeds bits = " + std::to_string(bits_));
    GateEstimate e = adder_estimate(bits_, signed_, k_, k_ > 0, unit_gate::kGateDelay);
    if (k_ > 0) {
        e.area_ge += (k_ + 1) * unit_gate::kGateArea;  // k OR gates, the carry-in AND
        e.depth = std::max(e.depth, unit_gate::kGateDelay);
    }
    cost_ = estimate_cost(e, read_cost_settings(p, "loa_add"), true);
}

}  // namespace hawx::blocks
