// A minimal approximate multiplier plugin: the exact product with its n least significant
// result bits forced to 0 (a result-truncating multiplier).
#include <hawx/sdk/hawx.hpp>

namespace {

class LsbZeroMul final : public hawx::ApproxBlock {
public:
    static hawx::ComponentInfo describe() {
        return {"lsb_zero_mul", hawx::Kind::Block, "1.0", "exact 8x8 product with the n lowest result bits cleared",
                {hawx::ParamSpec::integer("n", "result bits forced to 0").with_default(2).in_range(0, 15),
                 hawx::ParamSpec::boolean("signed", "two's-complement operands").with_default(true)}};
    }
    explicit LsbZeroMul(const hawx::Params& p)
        : n_(static_cast<int>(p.get_int("n"))), signed_(p.get_bool("signed")) {}

    hawx::BlockOp op() const override { return hawx::BlockOp::Multiply; }
    int activation_bits() const override { return 8; }
    int weight_bits() const override { return 8; }
    bool is_signed() const override { return signed_; }
    std::int32_t apply(std::int32_t a, std::int32_t w) const override {
        // Clearing low bits of the two's-complement pattern rounds toward minus infinity.
        return (a * w) & ~((1 << n_) - 1);
    }
    hawx::HardwareCost cost() const override {
        return {0.425, 729.8, 1.0, std::nullopt, "example: the exact multiplier's figures (no savings claimed)"};
    }

private:
    int n_;
    bool signed_;
};

}  // namespace

void register_or_low_add(hawx::Registry& r);  // or_low_add.cpp: a minimal adder

namespace {

void register_components(hawx::Registry& r) {
    hawx::add<LsbZeroMul>(r);
    register_or_low_add(r);
}

}  // namespace

HAWX_PLUGIN("mylib", "1.0.0", register_components)
