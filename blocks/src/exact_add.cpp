#include "hawx/blocks/exact_add.hpp"

namespace hawx::blocks {

ComponentInfo ExactAdd::describe() {
    return {"exact_add", Kind::Block, "1.1", "exact adder (ripple carry) of 2..32-bit operands",
            with_cost_params({signed_param(), adder_bits_param(), overflow_param()})};
}

ExactAdd::ExactAdd(const Params& p) : AdderBlock(p, "exact_add") {
    cost_ = adder_cost(p, "exact_add", 0, false, 0, {});
}

}  // namespace hawx::blocks
