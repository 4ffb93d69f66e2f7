#pragma once
/// \file
/// ApproxBlock: an approximate arithmetic unit (multiplier or adder) on small integers.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hawx/sdk/component.hpp"
#include "hawx/sdk/error.hpp"

namespace hawx {

/// What the block computes when exact.
enum class BlockOp { Multiply, Add };

inline const char* to_string(BlockOp op) { return op == BlockOp::Multiply ? "multiply" : "add"; }

/// How an adder's low part combines (see ApproxBlock::adder_split).
enum class SplitRule {
    None,  ///< no declared structure: the engine emulates every addition through add_n
    Or,    ///< LOA: low = (a | b) mod 2^k, carry into bit k = bit k-1 of a AND of b
    Eta,   ///< ETA-I: low = ((a ^ b) | ones at and below the top bit of a & b) mod 2^k, no carry
    Zero   ///< truncation: low = 0, no carry (k = 0: the exact adder)
};

/// An adder whose result splits at bit k: an exact sum of the upper parts (floor(a / 2^k)
/// + floor(b / 2^k) + carry) times 2^k, plus a k-bit low part given by `rule`; then the
/// block's overflow handling (`wraps`: reduced modulo 2^bits, two's complement when signed).
struct AdderSplit {
    SplitRule rule = SplitRule::None;
    int k = 0;
    bool wraps = false;
};

/// The integer result of one addition under `s`, before overflow handling (floor shifts, so
/// it holds for negative operands in two's complement).
inline std::int64_t split_add(const AdderSplit& s, std::int64_t a, std::int64_t b) {
    const std::int64_t m = (std::int64_t{1} << s.k) - 1, la = a & m, lb = b & m;
    std::int64_t upper = (a >> s.k) + (b >> s.k), low = 0;
    switch (s.rule) {
        case SplitRule::None:
        case SplitRule::Zero: break;
        case SplitRule::Or:
            low = la | lb;
            if (s.k > 0) upper += (la >> (s.k - 1)) & (lb >> (s.k - 1)) & 1;
            break;
        case SplitRule::Eta: {
            std::uint64_t t = static_cast<std::uint64_t>(la & lb);
            for (int sh = 1; sh < 64; sh *= 2) t |= t >> sh;
            low = (la ^ lb) | static_cast<std::int64_t>(t);
            break;
        }
    }
    return upper * (std::int64_t{1} << s.k) + low;
}

/// Hardware cost of one instance of the block.
/// `source` says where the figures come from (a synthesis flow and PDK, a paper, or
/// "estimate: <model>"); a figure that is an estimate must say so there.
struct HardwareCost {
    double power_mw = 0.0;
    double area_um2 = 0.0;
    double delay_ns = 0.0;
    std::optional<double> energy_pj;  ///< energy per operation, when known
    std::string source;
};

/// Error figures published with a circuit (e.g. EvoApproxLib header lines), shown beside
/// the computed ones so a user can check an import. Every field is optional.
struct PublishedMetrics {
    std::optional<double> mae, mae_percent, wce, wce_percent, wcre_percent, ep_percent, mre_percent, mse;
    std::string source;
    /// Each figure as it was printed ("33", "0.0018", "47164.981e4"), by key ("mae",
    /// "mae_percent", ...), when known: its last digit is the figure's precision
    /// (published_agrees in error_metrics.hpp). Figures without text get it from the value.
    std::map<std::string, std::string> printed;
    bool empty() const {
        return !mae && !mae_percent && !wce && !wce_percent && !wcre_percent && !ep_percent && !mre_percent && !mse;
    }
};

/// Smallest and largest operand value of a `bits`-wide operand.
inline std::int32_t operand_min(int bits, bool is_signed) { return is_signed ? -(1 << (bits - 1)) : 0; }
inline std::int32_t operand_max(int bits, bool is_signed) {
    return is_signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
}
/// Operand bit pattern (two's complement when signed) -> value, and back.
inline std::int32_t code_to_value(std::uint32_t code, int bits, bool is_signed) {
    code &= (1u << bits) - 1u;
    if (is_signed && (code >> (bits - 1)) != 0) return static_cast<std::int32_t>(code) - (1 << bits);
    return static_cast<std::int32_t>(code);
}
inline std::uint32_t value_to_code(std::int32_t value, int bits) {
    return static_cast<std::uint32_t>(value) & ((1u << bits) - 1u);
}

/// An approximate multiplier or adder.
///
/// Contract:
/// - Operands are integers in [operand_min, operand_max] of their width and signedness
///   (both operands share the signedness). Callers never pass values outside that range.
/// - `apply(activation, weight)`: the first operand is the activation (the layer input),
///   the second the weight. The order is part of the contract: published circuits need not
///   be commutative. For adders, the two addends in the same order; inside a MAC the first
///   is the running sum (accumulator or tree node), the second the product or node added.
/// - `apply` is pure and thread-safe: the same operands always give the same result, from
///   any thread.
/// - The result is the value the circuit outputs, as a signed integer (a signed 8x8
///   multiplier returns its int16 output as an int32 in [-2^15, 2^15)).
class HAWX_VISIBLE ApproxBlock {
public:
    virtual ~ApproxBlock() = default;

    virtual BlockOp op() const = 0;
    /// Operand widths: 1..16 for multipliers; adders have two operands of one width, 1..32
    /// (an accumulator). Tables and exhaustive metrics exist only up to 16 bits in total.
    virtual int activation_bits() const = 0;
    virtual int weight_bits() const = 0;
    virtual bool is_signed() const = 0;
    virtual std::int32_t apply(std::int32_t activation, std::int32_t weight) const = 0;
    virtual HardwareCost cost() const = 0;
    /// Figures published for this circuit; empty when there are none.
    virtual PublishedMetrics published() const { return {}; }

    /// Fills the full table, index (activation_code << weight_bits) | weight_code, codes
    /// being the operands' bit patterns. `out` has 2^(activation_bits + weight_bits)
    /// entries. Override only to go faster; the result must equal apply() everywhere.
    virtual void fill_table(std::int32_t* out) const {
        const int na = activation_bits(), nw = weight_bits();
        const bool s = is_signed();
        for (std::uint32_t a = 0; a < (1u << na); ++a)
            for (std::uint32_t w = 0; w < (1u << nw); ++w)
                out[(a << nw) | w] = apply(code_to_value(a, na, s), code_to_value(w, nw, s));
    }

    /// Batched addition for adders of any width: out[i] = the circuit's output for the
    /// addends a[i], b[i], i < n, as a signed integer (an unsigned 32-bit adder's 33-bit sum
    /// fits). `out` may alias `a` or `b`. The engine calls it once per batch of hundreds of
    /// sums, so one virtual call per batch; built-in adders implement it with loops the
    /// compiler vectorizes. The default calls apply() per element, which is right while
    /// operands and results fit an int32 (widths up to 30 bits); wider adders override it.
    /// Multipliers never receive this call.
    virtual void add_n(const std::int64_t* a, const std::int64_t* b, std::int64_t* out, std::size_t n) const {
        for (std::size_t i = 0; i < n; ++i)
            out[i] = apply(static_cast<std::int32_t>(a[i]), static_cast<std::int32_t>(b[i]));
    }

    /// Adders only: the split of the result (AdderSplit) when the adder has one. Sums through
    /// such an adder do not depend on the order of the additions while no result leaves its
    /// range (in any case when it wraps), so the engine sums a whole fan-in in closed form
    /// from the products' upper parts and per-bit counts of their low parts, at the cost of
    /// a table lookup per product, instead of calling add_n per addition. The engine checks
    /// the declaration against add_n on 65,536 sampled operand pairs and refuses an adder
    /// whose add_n disagrees. Default: SplitRule::None (every addition through add_n).
    virtual AdderSplit adder_split() const { return {}; }

    /// True only when the block promises the exact result for every operand pair in its
    /// range (the exact multiplier, the exact adder). The engine then skips emulating it
    /// where no table can prove exactness (adders wider than 12 bits). Default: no promise.
    virtual bool promises_exact() const { return false; }

    /// The exact result this block approximates.
    std::int32_t exact(std::int32_t activation, std::int32_t weight) const {
        return op() == BlockOp::Multiply ? activation * weight : activation + weight;
    }
};

/// The block's full table (see ApproxBlock::fill_table). Throws hawx::Error when the two
/// widths add up to more than 16 bits (tables are for blocks of at most 8x8 bits).
inline std::vector<std::int32_t> block_table(const ApproxBlock& b) {
    const int total = b.activation_bits() + b.weight_bits();
    if (b.activation_bits() < 1 || b.weight_bits() < 1 || total > 16)
        throw Error("block table: operand widths " + std::to_string(b.activation_bits()) + "x" +
                    std::to_string(b.weight_bits()) + " exceed 16 bits in total");
    std::vector<std::int32_t> t(std::size_t{1} << total);
    b.fill_table(t.data());
    return t;
}

}  // namespace hawx
