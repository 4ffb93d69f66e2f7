#pragma once
/// \file
/// A MAC block: a multiplier and the adder that accumulates its products, paired in a
/// manifest ({"name": "L2N+LOA6", "multiplier": "L2N", "adder": "LOA6", "order": "tree:4"}).
/// To every search, accelerator and report it is a multiplier (its table is the
/// multiplier's, its cost the sum of both); the engine reads the adder and the order and
/// emulates the accumulation (docs/engine.md, "Approximate adders in the MAC").
#include <hawx/sdk/block.hpp>
#include <hawx/sdk/error.hpp>

#include <memory>
#include <string>

namespace hawx {

/// In what order a MAC's adder sums the products of one output, over the weight positions
/// k = (c * kh + i) * kw + j of its filter.
/// - tree = 1, "sequential": acc <- add(acc, p_k) for k = 0, 1, ..., from acc = 0 (one
///   accumulator per output, a temporal/PERUN-like PE);
/// - tree = S > 1, "tree:S": the products of k = gS .. gS+S-1 (the last group may be
///   shorter) are summed by a binary adder tree (level by level, node i of the next level =
///   add(node 2i, node 2i+1), an odd last node passed up unchanged), then acc <- add(acc,
///   tree output) over the groups g (FINN: S SIMD lanes of a PE, then the fold).
/// - tree = 0, "auto": the accelerator's order, per layer: tree:SIMD of that layer from the
///   manifest's dataflow accelerator, sequential without one (the run says which).
struct AccumulationOrder {
    int tree = 1;
    std::string str() const {
        return tree == 0 ? "auto" : tree == 1 ? "sequential" : "tree:" + std::to_string(tree);
    }
};
/// "sequential", "tree:S" with S in 2..4096 or "auto"; throws hawx::Error naming `text` otherwise.
AccumulationOrder parse_accumulation_order(const std::string& text);

class HAWX_VISIBLE MacBlock final : public ApproxBlock {
public:
    /// Throws hawx::Error when `multiplier` is not a multiplier, `adder` not an adder, their
    /// signedness differs, or a product of the multiplier does not fit the adder's operands.
    MacBlock(std::shared_ptr<ApproxBlock> multiplier, std::string multiplier_name, std::shared_ptr<ApproxBlock> adder,
             std::string adder_name, AccumulationOrder order);

    BlockOp op() const override { return BlockOp::Multiply; }
    int activation_bits() const override { return mul_->activation_bits(); }
    int weight_bits() const override { return mul_->weight_bits(); }
    bool is_signed() const override { return mul_->is_signed(); }
    std::int32_t apply(std::int32_t a, std::int32_t w) const override { return mul_->apply(a, w); }
    void fill_table(std::int32_t* out) const override { mul_->fill_table(out); }
    /// The multiplier's and the adder's figures added (one adder per multiplier: a PE's S
    /// lanes have S - 1 tree adders and an accumulator; a PERUN LID one of each).
    HardwareCost cost() const override;
    PublishedMetrics published() const override { return mul_->published(); }
    bool promises_exact() const override { return mul_->promises_exact() && add_->promises_exact(); }

    const std::shared_ptr<ApproxBlock>& multiplier() const { return mul_; }
    const std::shared_ptr<ApproxBlock>& adder() const { return add_; }
    const std::string& multiplier_name() const { return mul_name_; }
    const std::string& adder_name() const { return add_name_; }
    AccumulationOrder order() const { return order_; }

private:
    std::shared_ptr<ApproxBlock> mul_, add_;
    std::string mul_name_, add_name_;
    AccumulationOrder order_;
};

}  // namespace hawx
