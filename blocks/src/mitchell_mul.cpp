#include "hawx/blocks/mitchell_mul.hpp"

namespace hawx::blocks {

ComponentInfo MitchellMul::describe() {
    return {"mitchell_mul", Kind::Block, "1.0",
            "Mitchell's logarithmic multiplier (1962): log2 approximated by leading-one position plus fraction",
            with_cost_params({signed_param(), bits_param(),
                              ParamSpec::integer("frac_bits",
                                                 "fraction bits kept per operand after the leading one (low bits "
                                                 "below leading-one position - frac_bits are cleared); -1: bits-1, "
                                                 "no truncation")
                                  .with_default(-1)
                                  .in_range(-1, 7)})};
}

namespace {

int checked_frac_bits(const Params& p) {
    const auto f = p.get_int("frac_bits"), bits = p.get_int("bits");
    if (f > bits - 1)
        throw param_error("mitchell_mul", "frac_bits",
                          "= " + std::to_string(f) + " exceeds bits-1 = " + std::to_string(bits - 1));
    return static_cast<int>(f < 0 ? bits - 1 : f);
}

GateEstimate mitchell_estimate(int n, bool is_signed, int f) {
    const GateEstimate neg = is_signed ? conditional_negate(n) : GateEstimate{};
    const GateEstimate lod = leading_one_detector(n);
    const GateEstimate normalize = barrel_shifter(f, n);
    const GateEstimate add = ripple_adder(f + ceil_log2(n));
    const GateEstimate antilog = barrel_shifter(2 * n, 2 * n - 1 + f);
    const double zero_gating = 2 * n * unit_gate::kGateArea;
    const GateEstimate out_neg = is_signed ? conditional_negate(2 * n) : GateEstimate{};
    const double sign_xor = is_signed ? unit_gate::kXorArea : 0.0;
    GateEstimate e;
    e.area_ge = 2 * (neg.area_ge + lod.area_ge + normalize.area_ge) + add.area_ge + antilog.area_ge + zero_gating +
                out_neg.area_ge + sign_xor;
    e.depth = neg.depth + lod.depth + normalize.depth + add.depth + antilog.depth + unit_gate::kGateDelay +
              out_neg.depth;
    return e;
}

}  // namespace

MitchellMul::MitchellMul(const Params& p) : ArithmeticBlock(BlockOp::Multiply, p), frac_bits_(checked_frac_bits(p)) {
    cost_ = estimate_cost(mitchell_estimate(bits_, signed_, frac_bits_), read_cost_settings(p, "mitchell_mul"), false);
}

}  // namespace hawx::blocks
