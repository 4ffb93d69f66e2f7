#include "hawx/blocks/truncated_mul.hpp"

namespace hawx::blocks {

ComponentInfo TruncatedMul::describe() {
    return {"truncated_mul", Kind::Block, "1.0",
            "array multiplier with the k least significant partial-product columns removed",
            with_cost_params({signed_param(), bits_param(),
                              ParamSpec::integer("k",
                                                 "partial-product columns removed, counted from the least "
                                                 "significant (at most 2*bits; 0: exact)")
                                  .with_default(4)
                                  .in_range(0, 16)})};
}

namespace {
int checked_k(const Params& p) {
    const auto k = p.get_int("k"), bits = p.get_int("bits");
    if (k > 2 * bits)
        throw param_error("truncated_mul", "k",
                          "= " + std::to_string(k) + " exceeds 2*bits = " + std::to_string(2 * bits));
    return static_cast<int>(k);
}
}  // namespace

TruncatedMul::TruncatedMul(const Params& p)
    : ArithmeticBlock(BlockOp::Multiply, p),
      k_(checked_k(p)),
      array_(bits_, signed_, [k = k_](int i, int j) { return i + j >= k; }) {
    cost_ = estimate_cost(array_.estimate(), read_cost_settings(p, "truncated_mul"), false);
}

}  // namespace hawx::blocks
