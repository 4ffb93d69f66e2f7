#pragma once
/// \file
/// `error-only`: a baseline that ignores the data, the block's mean absolute error over all
/// 2^(na+nw) operand pairs, uniformly weighted:
///     MAE_b = sum_i |T_b[i] - a_i * w_i| / 2^(na+nw)
/// the same for every operation of every unit. Param `scaled` (default false): multiply by the
/// unit's output_scale, i.e. the same integer error expressed in each layer's real-valued
/// output units; unscaled scores are in integer-product units (LSBs), comparable across
/// layers only in the sense that every layer gets the same value.
#include <hawx/sdk/component.hpp>
#include <hawx/sdk/metric.hpp>

#include <array>
#include <cstdint>
#include <mutex>
#include <vector>

namespace hawx::metrics {

class ErrorOnly final : public SensitivityMetric {
public:
    static ComponentInfo describe();
    explicit ErrorOnly(const Params& params);
    bool needs_gradients() const override { return false; }
    double score(const ApproxBlock& block, const std::vector<std::int32_t>& table,
                 const UnitProfile& unit) const override;

private:
    // The MAE is a property of the table alone; the core scores every unit with the same
    // table, and recomputing 65536 entries per weight position would dominate scoring.
    // Entries are keyed by block object and table storage and re-checked at spread probes.
    struct Cached {
        const ApproxBlock* block;
        const std::int32_t* data;
        std::size_t size;
        std::array<std::int32_t, 16> probe;
        double mae;
    };
    double mae(const ApproxBlock& block, const std::vector<std::int32_t>& table, const UnitProfile& unit) const;
    bool scaled_;
    mutable std::mutex mutex_;
    mutable std::vector<Cached> cache_;
};

}  // namespace hawx::metrics
