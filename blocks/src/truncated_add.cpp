#include "hawx/blocks/truncated_add.hpp"

#include "hawx/blocks/adders.hpp"

namespace hawx::blocks {

ComponentInfo TruncatedAdd::describe() {
    return {"truncated_add", Kind::Block, "1.0", "adder with the k low bits of both operands set to 0",
            with_cost_params({signed_param(), bits_param(),
                              ParamSpec::integer("k", "low operand bits set to 0 before adding (at most bits; 0: exact)")
                                  .with_default(4)
                                  .in_range(0, 8)})};
}

TruncatedAdd::TruncatedAdd(const Params& p) : ArithmeticBlock(BlockOp::Add, p), k_(static_cast<int>(p.get_int("k"))) {
    if (k_ > bits_)
        throw param_error("truncated_add", "k", "= " + std::to_string(k_) + " exceeds bits = " + std::to_string(bits_));
    // k = bits leaves no adder at all (the output is constant 0).
    const GateEstimate e = k_ < bits_ ? adder_estimate(bits_, signed_, k_, false, 0) : GateEstimate{};
    cost_ = estimate_cost(e, read_cost_settings(p, "truncated_add"), true);
}

}  // namespace hawx::blocks
