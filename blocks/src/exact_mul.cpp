#include "hawx/blocks/exact_mul.hpp"

namespace hawx::blocks {

ComponentInfo ExactMul::describe() {
    return {"exact_mul", Kind::Block, "1.0", "exact multiplier (array multiplier, Baugh-Wooley when signed)",
            with_cost_params({signed_param(), bits_param()})};
}

ExactMul::ExactMul(const Params& p) : ArithmeticBlock(BlockOp::Multiply, p) {
    cost_ = estimate_cost(array_multiplier(bits_, signed_), read_cost_settings(p, "exact_mul"), false);
}

}  // namespace hawx::blocks
