#include "hawx/framework/mac_block.hpp"

#include <algorithm>
#include <vector>

namespace hawx {

AccumulationOrder parse_accumulation_order(const std::string& text) {
    if (text == "sequential") return {1};
    if (text == "auto") return {0};
    if (text.rfind("tree:", 0) == 0) {
        const std::string n = text.substr(5);
        if (!n.empty() && n.size() <= 4 && std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            const int s = std::stoi(n);
            if (s >= 2 && s <= 4096) return {s};
        }
    }
    throw Error("order '" + text + "' is neither 'sequential', 'tree:S' with S in 2..4096, nor 'auto'");
}

MacBlock::MacBlock(std::shared_ptr<ApproxBlock> multiplier, std::string multiplier_name, std::shared_ptr<ApproxBlock> adder,
                   std::string adder_name, AccumulationOrder order)
    : mul_(std::move(multiplier)), add_(std::move(adder)), mul_name_(std::move(multiplier_name)),
      add_name_(std::move(adder_name)), order_(order) {
    if (mul_->op() != BlockOp::Multiply) throw Error("multiplier '" + mul_name_ + "' is an adder");
    if (add_->op() != BlockOp::Add) throw Error("adder '" + add_name_ + "' is a multiplier");
    if (add_->activation_bits() != add_->weight_bits())
        throw Error("adder '" + add_name_ + "' has addends of " + std::to_string(add_->activation_bits()) + " and " +
                    std::to_string(add_->weight_bits()) + " bits; an accumulator adds two of one width");
    if (mul_->is_signed() != add_->is_signed())
        throw Error("multiplier '" + mul_name_ + "' is " + (mul_->is_signed() ? "signed" : "unsigned") + " but adder '" +
                    add_name_ + "' is " + (add_->is_signed() ? "signed" : "unsigned"));
    const std::vector<std::int32_t> t = block_table(*mul_);
    const auto [lo, hi] = std::minmax_element(t.begin(), t.end());
    const int bits = add_->activation_bits();
    const bool s = add_->is_signed();
    const std::int64_t amin = s ? -(std::int64_t{1} << (bits - 1)) : 0;
    const std::int64_t amax = s ? (std::int64_t{1} << (bits - 1)) - 1 : (std::int64_t{1} << bits) - 1;
    if (*lo < amin || *hi > amax)
        throw Error("adder '" + add_name_ + "' (" + std::to_string(bits) + " bits, " + (s ? "signed" : "unsigned") +
                    ") cannot take the products of '" + mul_name_ + "', which range over [" + std::to_string(*lo) + ", " +
                    std::to_string(*hi) + "]; an accumulator needs more bits");
}

HardwareCost MacBlock::cost() const {
    const HardwareCost m = mul_->cost(), a = add_->cost();
    HardwareCost c;
    c.power_mw = m.power_mw + a.power_mw;
    c.area_um2 = m.area_um2 + a.area_um2;
    c.delay_ns = m.delay_ns + a.delay_ns;
    if (m.energy_pj && a.energy_pj) c.energy_pj = *m.energy_pj + *a.energy_pj;
    c.source = "multiplier " + mul_name_ + ": " + m.source + "; adder " + add_name_ + ": " + a.source;
    return c;
}

}  // namespace hawx
