#include "hawx/blocks/truncated_add.hpp"

namespace hawx::blocks {

ComponentInfo TruncatedAdd::describe() {
    return {"truncated_add", Kind::Block, "1.1", "adder with the k low bits of both operands set to 0",
            with_cost_params({signed_param(), adder_bits_param(), overflow_param(),
                              adder_k_param("low operand bits set to 0 before adding")})};
}

TruncatedAdd::TruncatedAdd(const Params& p) : AdderBlock(p, "truncated_add"), k_(static_cast<int>(p.get_int("k"))) {
    // k = bits leaves no adder at all (the output is constant 0).
    cost_ = k_ < bits_ ? adder_cost(p, "truncated_add", k_, false, 0, {})
                       : estimate_cost(GateEstimate{}, read_cost_settings(p, "truncated_add"), true);
}

}  // namespace hawx::blocks
