#include "hawx/blocks/eta_add.hpp"

namespace hawx::blocks {

ComponentInfo EtaAdd::describe() {
    return {"eta_add", Kind::Block, "1.0",
            "error-tolerant adder I (Zhu et al. 2010): exact upper part without carry-in; k low bits XOR-ed, "
            "all ones from the highest low bit where both operands are 1",
            with_cost_params({signed_param(), adder_bits_param(), overflow_param(),
                              adder_k_param("low bits computed by the error-tolerant rule")})};
}

EtaAdd::EtaAdd(const Params& p) : AdderBlock(p, "eta_add"), k_(static_cast<int>(p.get_int("k"))) {
    // Per low bit an XOR (sum), an AND (both ones) and an OR of the control chain that
    // runs from the top low bit down (k gate delays), plus the OR that forces the bit to 1.
    const GateEstimate extra =
        k_ > 0 ? GateEstimate{k_ * (unit_gate::kXorArea + 3 * unit_gate::kGateArea), k_ * unit_gate::kGateDelay + unit_gate::kGateDelay}
               : GateEstimate{};
    cost_ = adder_cost(p, "eta_add", k_, false, 0, extra);
}

}  // namespace hawx::blocks
