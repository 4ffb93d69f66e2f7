#include "hawx/metrics/operand_error.hpp"

#include <string>

namespace hawx::metrics {

void check_arguments(const char* metric, const ApproxBlock& block, const std::vector<std::int32_t>& table,
                     const UnitProfile& unit, bool needs_gradients) {
    const std::string m = std::string("metric ") + metric + ": ";
    if (block.op() != BlockOp::Multiply) throw Error(m + "the block is not a multiplier");
    if (block.activation_bits() != unit.activation_bits || block.weight_bits() != unit.weight_bits)
        throw Error(m + "block widths " + std::to_string(block.activation_bits()) + "x" +
                    std::to_string(block.weight_bits()) + " differ from the profile's " +
                    std::to_string(unit.activation_bits) + "x" + std::to_string(unit.weight_bits));
    if (block.is_signed() != unit.is_signed)
        throw Error(m + "block signedness differs from the profile's quantization");
    const int bits = unit.activation_bits + unit.weight_bits;
    if (unit.activation_bits < 1 || unit.weight_bits < 1 || bits > 16)
        throw Error(m + "operand widths must be 1..16 bits in total, got " + std::to_string(bits));
    const std::size_t entries = std::size_t{1} << bits;
    if (table.size() != entries)
        throw Error(m + "table has " + std::to_string(table.size()) + " entries, expected " + std::to_string(entries));
    if (unit.counts == nullptr || (needs_gradients && unit.grad_weighted == nullptr))
        throw Error(m + "the unit profile has no " + std::string(unit.counts == nullptr ? "counts" : "gradients"));
    if (unit.support_size > 0 && unit.support == nullptr) throw Error(m + "the unit profile has no support list");
    for (std::size_t i = 0; i < unit.support_size; ++i)
        if (unit.support[i] >= entries)
            throw Error(m + "support index " + std::to_string(unit.support[i]) + " outside the table");
}

}  // namespace hawx::metrics
