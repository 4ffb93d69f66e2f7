#pragma once
/// \file
/// `truncated_add`: the k low bits of both operands' patterns are set to 0 before an exact
/// add (the k low result bits are therefore 0). Clearing low bits of a two's-complement
/// pattern rounds toward minus infinity, so the error is -(a mod 2^k) - (b mod 2^k) <= 0;
/// over uniformly distributed operands the bias is -(2^k - 1) (signed: for k < bits).
/// With k = bits the result is always 0 (signed too: the sign bit is cleared as well).
///
/// Params: signed, bits, k (0..8, <= bits, default 4), plus the cost parameters.
#include <hawx/sdk/component.hpp>

#include "hawx/blocks/common.hpp"

namespace hawx::blocks {

class TruncatedAdd final : public ArithmeticBlock<TruncatedAdd> {
public:
    static ComponentInfo describe();
    explicit TruncatedAdd(const Params& params);
    std::int32_t compute(std::int32_t a, std::int32_t b) const {
        const std::uint32_t keep = ~((1u << k_) - 1u);
        return code_to_value(value_to_code(a, bits_) & keep, bits_, signed_) +
               code_to_value(value_to_code(b, bits_) & keep, bits_, signed_);
    }

private:
    int k_;
};

}  // namespace hawx::blocks
