#pragma once
/// \file
/// `table`: an 8x8 block given by its full table, read from a TFApprox-layout file
/// (hawx::read_table_file: 65,536 16-bit entries, index (a << 8) | b) and its JSON sidecar
/// (same name, .json; hawx::read_sidecar).
///
/// Everything comes from the sidecar: op, signedness, which operand is `a`, hardware
/// cost and published figures. Without a sidecar the parameters must say it: `signedness`
/// (signed | unsigned; a string, not the bool `signed` of the other blocks, so that it can
/// say "sidecar"), `op` (multiply | add) and `first_operand` (activation | weight), each
/// defaulting to "sidecar" = take it from the sidecar, and `power_mw`,
/// `area_um2`, `delay_ns` (default -1 = from the sidecar); a missing item is an error
/// naming the table file and the parameter. When both give a value, the cost parameters
/// override the sidecar (to plug synthesized figures); `signed`, `op` and
/// `first_operand` must agree with it.
///
/// A table whose `a` operand is the weight is transposed on load into the canonical
/// (activation_code << 8) | weight_code order.
///
/// Self-check on load (unless check_published = false): the error metrics are recomputed
/// with hawx::characterize and every figure the sidecar publishes must agree within
/// 0.01 + 0.5% of the published value (the published figure's rounding is unknown);
/// otherwise hawx::Error names the file and the metric.
#include <string>
#include <vector>

#include <hawx/sdk/block.hpp>
#include <hawx/sdk/component.hpp>
#include <hawx/sdk/params.hpp>

namespace hawx::blocks {

class TableBlock final : public ApproxBlock {
public:
    static ComponentInfo describe();
    explicit TableBlock(const Params& params);

    BlockOp op() const override { return op_; }
    int activation_bits() const override { return 8; }
    int weight_bits() const override { return 8; }
    bool is_signed() const override { return signed_; }
    std::int32_t apply(std::int32_t activation, std::int32_t weight) const override {
        return table_[(value_to_code(activation, 8) << 8) | value_to_code(weight, 8)];
    }
    HardwareCost cost() const override { return cost_; }
    PublishedMetrics published() const override { return published_; }
    void fill_table(std::int32_t* out) const override;

    /// The sidecar's name (empty without a sidecar).
    const std::string& name() const { return name_; }

private:
    BlockOp op_ = BlockOp::Multiply;
    bool signed_ = true;
    std::vector<std::int32_t> table_;  ///< canonical order, values
    HardwareCost cost_;
    PublishedMetrics published_;
    std::string name_;
};

}  // namespace hawx::blocks
