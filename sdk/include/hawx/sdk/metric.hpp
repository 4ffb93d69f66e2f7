#pragma once
/// \file
/// SensitivityMetric: scores how much a unit (layer, filter or weight position) suffers
/// when its multiplications use a given block.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "hawx/sdk/block.hpp"
#include "hawx/sdk/error.hpp"

namespace hawx {

/// What the profiler measured for one unit, reduced to operand-code statistics so that a
/// metric's cost does not grow with the data set. Arrays have 2^(na+nw) entries indexed
/// like block tables: (activation_code << nw) | weight_code.
struct UnitProfile {
    int activation_bits = 8;
    int weight_bits = 8;
    const double* grad_weighted = nullptr;  ///< sum over the unit's multiplications of mean |dL/do| (over representatives)
    const double* counts = nullptr;         ///< number of the unit's multiplications with these codes (mean over representatives)
    std::uint64_t operations = 0;           ///< multiplications in the unit
    std::int64_t fan_in = 0;                ///< multiplications per output element of the layer
    double output_scale = 1.0;              ///< real value of one unit of the integer product
    bool is_signed = true;                  ///< signedness of the operand codes (and of the blocks scored)
    /// Indices where `counts` > 0, ascending: every other entry of both arrays is 0, so a
    /// metric may sum over the support only (a weight position has at most 2^na of them).
    const std::uint32_t* support = nullptr;
    std::size_t support_size = 0;
};

/// Contract: `score` returns the mean per-operation score of the unit for the block whose
/// full table is `table` (see block_table), a finite value >= 0; larger means more sensitive.
/// Scores of different units must be comparable (same units of measure), because the core
/// aggregates them: a filter's or layer's score is the operation-weighted mean of its
/// units' scores, and the sum (mean x operations) estimates a loss change that adds up.
/// The core only passes blocks whose signedness and widths match the profile.
/// It must be deterministic and thread-safe (the core calls it in parallel). A metric that
/// does not use gradients returns false from `needs_gradients` and the core may skip the
/// backward pass.
class HAWX_VISIBLE SensitivityMetric {
public:
    virtual ~SensitivityMetric() = default;
    virtual bool needs_gradients() const = 0;
    virtual double score(const ApproxBlock& block, const std::vector<std::int32_t>& table,
                         const UnitProfile& unit) const = 0;
};

}  // namespace hawx
