#include "hawx/blocks/exact_add.hpp"

#include "hawx/blocks/adders.hpp"

namespace hawx::blocks {

ComponentInfo ExactAdd::describe() {
    return {"exact_add", Kind::Block, "1.0", "exact adder (ripple carry), bits+1-bit result",
            with_cost_params({signed_param(), bits_param()})};
}

ExactAdd::ExactAdd(const Params& p) : ArithmeticBlock(BlockOp::Add, p) {
    cost_ = estimate_cost(adder_estimate(bits_, signed_, 0, false, 0), read_cost_settings(p, "exact_add"), true);
}

}  // namespace hawx::blocks
