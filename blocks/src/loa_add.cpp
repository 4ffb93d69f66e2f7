#include "hawx/blocks/loa_add.hpp"

namespace hawx::blocks {

ComponentInfo LoaAdd::describe() {
    return {"loa_add", Kind::Block, "1.1",
            "lower-part OR adder (Mahdiani et al. 2010): k low bits OR-ed, carry-in a_{k-1} AND b_{k-1}",
            with_cost_params({signed_param(), adder_bits_param(), overflow_param(),
                              adder_k_param("low result bits computed as a_i OR b_i")})};
}

LoaAdd::LoaAdd(const Params& p) : AdderBlock(p, "loa_add"), k_(static_cast<int>(p.get_int("k"))) {
    // k OR gates and the carry-in AND; the carry chain starts at column k.
    const GateEstimate extra = k_ > 0 ? GateEstimate{(k_ + 1) * unit_gate::kGateArea, unit_gate::kGateDelay} : GateEstimate{};
    cost_ = adder_cost(p, "loa_add", k_, k_ > 0, unit_gate::kGateDelay, extra);
}

}  // namespace hawx::blocks
