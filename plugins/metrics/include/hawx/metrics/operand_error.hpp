#pragma once
/// \file
/// Shared by the built-in metrics: the checks every metric applies to its arguments, and the
/// error of one table entry.
#include <hawx/sdk/block.hpp>
#include <hawx/sdk/metric.hpp>

#include <cstdint>
#include <vector>

namespace hawx::metrics {

/// Throws hawx::Error naming `metric` when the block is not a multiplier, its widths or
/// signedness differ from the unit's, the table's size is not 2^(na+nw), the unit's arrays
/// are missing, or a support index is out of range.
void check_arguments(const char* metric, const ApproxBlock& block, const std::vector<std::int32_t>& table,
                     const UnitProfile& unit, bool needs_gradients);

/// T[index] - a*w for the table entry `index` = (activation_code << nw) | weight_code.
inline double product_error(const std::vector<std::int32_t>& table, std::uint32_t index, int na, int nw,
                            bool is_signed) {
    const std::int32_t a = code_to_value(index >> nw, na, is_signed);
    const std::int32_t w = code_to_value(index & ((1u << nw) - 1u), nw, is_signed);
    return static_cast<double>(table[index]) - static_cast<double>(a) * static_cast<double>(w);
}

}  // namespace hawx::metrics
