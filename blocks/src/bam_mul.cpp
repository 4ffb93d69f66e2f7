#include "hawx/blocks/bam_mul.hpp"

namespace hawx::blocks {

ComponentInfo BamMul::describe() {
    return {"bam_mul", Kind::Block, "1.0",
            "broken-array multiplier (Mahdiani et al. 2010): rows below hbl and cells left of vbl removed",
            with_cost_params(
                {signed_param(), bits_param(),
                 ParamSpec::integer("hbl",
                                    "horizontal break level: partial-product rows j < hbl are removed, row j being "
                                    "the weight bit w_j (at most bits)")
                     .with_default(1)
                     .in_range(0, 8),
                 ParamSpec::integer("vbl",
                                    "vertical break level: cells of columns i+j < vbl are removed (at most 2*bits)")
                     .with_default(6)
                     .in_range(0, 16)})};
}

namespace {
int checked(const Params& p, const char* name, std::int64_t limit, const char* limit_text) {
    const auto v = p.get_int(name);
    if (v > limit)
        throw param_error("bam_mul", name,
                          "= " + std::to_string(v) + " exceeds " + limit_text + " = " + std::to_string(limit));
    return static_cast<int>(v);
}
}  // namespace

BamMul::BamMul(const Params& p)
    : ArithmeticBlock(BlockOp::Multiply, p),
      hbl_(checked(p, "hbl", p.get_int("bits"), "bits")),
      vbl_(checked(p, "vbl", 2 * p.get_int("bits"), "2*bits")),
      array_(bits_, signed_, [h = hbl_, v = vbl_](int i, int j) { return j >= h && i + j >= v; }) {
    cost_ = estimate_cost(array_.estimate(), read_cost_settings(p, "bam_mul"), false);
}

}  // namespace hawx::blocks
