#pragma once
/// \file
/// Partial-product array multiplier with removable cells, the model behind exact_mul's
/// cost, truncated_mul and bam_mul.
///
/// Cell (i, j) combines activation bit a_i and weight bit w_j at column i+j.
/// - Unsigned (n bits): cell bit a_i & w_j; product = sum of kept cells * 2^(i+j).
/// - Signed: the Baugh-Wooley array. Cells with i, j < n-1 are a_i & w_j; the cells of
///   exactly one sign bit are complemented, ~(a_i & w_{n-1}) and ~(a_{n-1} & w_j), at
///   column i+n-1 and n-1+j; cell (n-1, n-1) is a_{n-1} & w_{n-1} at column 2n-2. The
///   constants 2^n and 2^(2n-1) are always added (removing cells never removes them).
///   The sum is taken modulo 2^(2n) and read as a 2n-bit two's-complement value, as the
///   circuit's output would be. With every cell kept this is exactly a * w.
/// Every cell bit has weight +2^(i+j), so removing cells never increases the (unwrapped)
/// result: the error is <= 0 unless the 2n-bit output wraps.
#include <array>
#include <cstdint>
#include <functional>

#include "hawx/blocks/cost_model.hpp"

namespace hawx::blocks {

class PartialProductArray {
public:
    /// `keep(i, j)`: whether cell (activation bit i, weight bit j) exists.
    PartialProductArray(int bits, bool is_signed, const std::function<bool(int, int)>& keep);

    std::int32_t multiply(std::int32_t activation, std::int32_t weight) const;
    bool keeps(int i, int j) const { return (rows_[static_cast<std::size_t>(j)] >> i) & 1u; }
    /// Unit-gate estimate of the kept array (see cost_model.hpp).
    GateEstimate estimate() const;

private:
    int bits_;
    bool signed_;
    std::array<std::uint32_t, 16> rows_{};  ///< rows_[j] bit i set: cell (i, j) kept
};

}  // namespace hawx::blocks
