#include "hawx/blocks/drum_mul.hpp"

#include <algorithm>

namespace hawx::blocks {

ComponentInfo DrumMul::describe() {
    return {"drum_mul", Kind::Block, "1.0",
            "DRUM(k) (Hashemi et al. 2015): operands cut to k bits from the leading one, lowest kept bit forced to 1",
            with_cost_params({signed_param(), bits_param(),
                              ParamSpec::integer("k",
                                                 "significant bits kept per operand (>= bits: exact; signed "
                                                 "8-bit needs k >= 3 for the product to fit 16 bits)")
                                  .with_default(4)
                                  .in_range(2, 8)})};
}

namespace {

GateEstimate drum_estimate(int n, bool is_signed, int k) {
    if (k >= n) return array_multiplier(n, is_signed);
    const GateEstimate neg = is_signed ? conditional_negate(n) : GateEstimate{};
    const GateEstimate lod = leading_one_detector(n);
    const GateEstimate select = barrel_shifter(k, n - k + 1);
    const GateEstimate mul = array_multiplier(k, false);
    const GateEstimate shift_add = ripple_adder(ceil_log2(n - k + 1));
    const GateEstimate out_shift = barrel_shifter(2 * n, 2 * (n - k) + 1);
    const GateEstimate out_neg = is_signed ? conditional_negate(2 * n) : GateEstimate{};
    const double sign_xor = is_signed ? unit_gate::kXorArea : 0.0;
    const double force = 2 * unit_gate::kGateArea;  // OR forcing the LSB, gated by "operand >= 2^k"
    GateEstimate e;
    e.area_ge = 2 * (neg.area_ge + lod.area_ge + select.area_ge + force) + mul.area_ge + shift_add.area_ge +
                out_shift.area_ge + out_neg.area_ge + sign_xor;
    const double operand = neg.depth + lod.depth + select.depth + 2 * unit_gate::kGateDelay;
    e.depth = std::max(operand + mul.depth, neg.depth + lod.depth + shift_add.depth) + out_shift.depth + out_neg.depth;
    return e;
}

}  // namespace

DrumMul::DrumMul(const Params& p) : ArithmeticBlock(BlockOp::Multiply, p), k_(static_cast<int>(p.get_int("k"))) {
    if (signed_) {
        // Largest reduced magnitude over all operand magnitudes 0..2^(n-1).
        std::uint32_t largest = 0;
        for (std::uint32_t x = 0; x <= (1u << (bits_ - 1)); ++x) largest = std::max(largest, reduce(x, k_));
        const std::uint64_t max_product = std::uint64_t{largest} * largest;
        if (max_product > (std::uint64_t{1} << (2 * bits_ - 1)) - 1)
            throw param_error("drum_mul", "k",
                              "= " + std::to_string(k_) + " with signed " + std::to_string(bits_) +
                                  "-bit operands gives products up to " + std::to_string(max_product) +
                                  ", which do not fit the " + std::to_string(2 * bits_) + "-bit signed output");
    }
    cost_ = estimate_cost(drum_estimate(bits_, signed_, k_), read_cost_settings(p, "drum_mul"), false);
}

}  // namespace hawx::blocks
