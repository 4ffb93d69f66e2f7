#pragma once
/// \file
/// Pieces shared by the `core` block components: the common parameters and a base class
/// that implements the ApproxBlock boilerplate and a fast fill_table.
#include <cstdint>
#include <string>
#include <vector>

#include <hawx/sdk/block.hpp>
#include <hawx/sdk/error.hpp>
#include <hawx/sdk/params.hpp>

#include "hawx/blocks/cost_model.hpp"

namespace hawx::blocks {

/// `signed` (bool, default true): two's-complement operands.
ParamSpec signed_param();
/// `bits` (int 2..8, default 8): width of each operand.
ParamSpec bits_param();
/// `params` followed by the cost parameters (cost_param_specs()).
std::vector<ParamSpec> with_cost_params(std::vector<ParamSpec> params);

/// hawx::Error "parameter '<param>' of <component> <problem>".
Error param_error(const std::string& component, const std::string& param, const std::string& problem);

/// Two's-complement value of the low `width` bits of `pattern`.
inline std::int32_t pattern_to_signed(std::uint32_t pattern, int width) {
    pattern &= (width >= 32) ? ~0u : ((1u << width) - 1u);
    if ((pattern >> (width - 1)) & 1u) return static_cast<std::int32_t>(pattern) - (1 << width);
    return static_cast<std::int32_t>(pattern);
}

/// Index of the leading one of x > 0.
inline int leading_one(std::uint32_t x) { return 31 - __builtin_clz(x); }

/// Base of the parametric blocks: both operands `bits` wide with one signedness.
/// `Derived` provides `std::int32_t compute(std::int32_t activation, std::int32_t weight) const`;
/// apply() and fill_table() call it directly (fill_table without a virtual call per entry).
template <class Derived>
class ArithmeticBlock : public ApproxBlock {
public:
    BlockOp op() const override { return op_; }
    int activation_bits() const override { return bits_; }
    int weight_bits() const override { return bits_; }
    bool is_signed() const override { return signed_; }
    std::int32_t apply(std::int32_t activation, std::int32_t weight) const override {
        return static_cast<const Derived&>(*this).compute(activation, weight);
    }
    HardwareCost cost() const override { return cost_; }
    void fill_table(std::int32_t* out) const override {
        const Derived& d = static_cast<const Derived&>(*this);
        const int n = bits_;
        for (std::uint32_t a = 0; a < (1u << n); ++a) {
            const std::int32_t av = code_to_value(a, n, signed_);
            for (std::uint32_t w = 0; w < (1u << n); ++w)
                out[(a << n) | w] = d.compute(av, code_to_value(w, n, signed_));
        }
    }

protected:
    ArithmeticBlock(BlockOp op, const Params& p)
        : op_(op), bits_(static_cast<int>(p.get_int("bits"))), signed_(p.get_bool("signed")) {}

    BlockOp op_;
    int bits_;
    bool signed_;
    HardwareCost cost_;  ///< set by the derived constructor
};

}  // namespace hawx::blocks
