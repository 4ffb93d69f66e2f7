#include "hawx/blocks/pp_array.hpp"

#include <hawx/sdk/block.hpp>

#include "hawx/blocks/common.hpp"

namespace hawx::blocks {

PartialProductArray::PartialProductArray(int bits, bool is_signed, const std::function<bool(int, int)>& keep)
    : bits_(bits), signed_(is_signed) {
    for (int j = 0; j < bits; ++j)
        for (int i = 0; i < bits; ++i)
            if (keep(i, j)) rows_[static_cast<std::size_t>(j)] |= 1u << i;
}

std::int32_t PartialProductArray::multiply(std::int32_t activation, std::int32_t weight) const {
    const int n = bits_;
    const std::uint32_t a = value_to_code(activation, n), w = value_to_code(weight, n);
    std::uint32_t sum = 0;
    for (int j = 0; j < n; ++j) {
        const std::uint32_t row = rows_[static_cast<std::size_t>(j)];
        if (row == 0) continue;
        const std::uint32_t wj = (w >> j) & 1u;
        for (int i = 0; i < n; ++i) {
            if (!((row >> i) & 1u)) continue;
            std::uint32_t bit = ((a >> i) & 1u) & wj;
            if (signed_ && ((i == n - 1) != (j == n - 1))) bit ^= 1u;  // Baugh-Wooley complemented cell
            sum += bit << (i + j);
        }
    }
    if (!signed_) return static_cast<std::int32_t>(sum);
    sum += (1u << n) + (1u << (2 * n - 1));
    return pattern_to_signed(sum, 2 * n);
}

GateEstimate PartialProductArray::estimate() const {
    return array_multiplier(bits_, signed_, [this](int i, int j) { return keeps(i, j); });
}

}  // namespace hawx::blocks
