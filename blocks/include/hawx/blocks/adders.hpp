#pragma once
/// \file
/// What the adder components (exact_add, loa_add, truncated_add, eta_add) share: widths up
/// to 32 bits (a MAC's accumulator), what happens when a sum does not fit, a batched
/// add_n the compiler vectorizes, and the unit-gate cost of the carry chain.
///
/// Every adder works on (bits+1)-bit patterns: the operands' two's-complement (or unsigned)
/// patterns, sign-extended to bits+1 bits when signed, go through the circuit's rule and
/// give a (bits+1)-bit result pattern r. `overflow` then says what leaves the block:
/// - `carry` (default): r itself, read as a (bits+1)-bit number (the carry-out is kept;
///   the characterization convention of EvoApproxLib's adders).
/// - `wrap`: the low `bits` bits of r (an accumulator register that wraps around).
/// - `saturate`: r clamped to the `bits`-bit range (a saturating accumulator).
#include <cstdint>
#include <string>

#include "hawx/blocks/common.hpp"
#include "hawx/blocks/cost_model.hpp"

namespace hawx::blocks {

enum class Overflow { Carry, Wrap, Saturate };

/// `bits` of an adder (2..32, default 8) and `overflow` (carry | wrap | saturate).
ParamSpec adder_bits_param();
ParamSpec overflow_param();
/// `k` of an adder: low bits it approximates (0..32, at most bits; 0: exact).
ParamSpec adder_k_param(const std::string& what);

/// Unit-gate estimate of a ripple-carry adder over result columns [first, top] of a
/// bits-wide addition, top = bits with the carry-out kept and bits - 1 otherwise:
/// unsigned, two operand bits per column and (when kept) the carry into column bits;
/// signed, operands sign-extended to bits+1 columns and the carry out dropped. `carry_in`
/// adds one input bit (arriving at `carry_in_arrival`) at column `first`.
GateEstimate adder_estimate(int bits, bool is_signed, int first, bool carry_in, double carry_in_arrival,
                            bool keep_carry = true);

/// Base of the adders: `Derived::raw(pa, pb)` maps two (bits+1)-bit patterns to the
/// (bits+1)-bit result pattern (bits above are ignored).
template <class Derived>
class AdderBlock : public ApproxBlock {
public:
    BlockOp op() const override { return BlockOp::Add; }
    int activation_bits() const override { return bits_; }
    int weight_bits() const override { return bits_; }
    bool is_signed() const override { return signed_; }
    HardwareCost cost() const override { return cost_; }
    Overflow overflow() const { return overflow_; }

    std::int64_t add(std::int64_t a, std::int64_t b) const {
        switch (overflow_) {
            case Overflow::Carry: return signed_ ? add_as<Overflow::Carry, true>(a, b) : add_as<Overflow::Carry, false>(a, b);
            case Overflow::Wrap: return signed_ ? add_as<Overflow::Wrap, true>(a, b) : add_as<Overflow::Wrap, false>(a, b);
            case Overflow::Saturate:
                return signed_ ? add_as<Overflow::Saturate, true>(a, b) : add_as<Overflow::Saturate, false>(a, b);
        }
        return 0;
    }
    std::int32_t apply(std::int32_t a, std::int32_t b) const override {
        return static_cast<std::int32_t>(add(a, b));
    }
    /// Vectorized loops (AVX2 where the CPU has it), one per overflow mode and signedness;
    /// defined in adders.cpp.
    void add_n(const std::int64_t* a, const std::int64_t* b, std::int64_t* out, std::size_t n) const override;

    /// One addition with the mode and signedness fixed at compile time (what add_n loops over).
    template <Overflow O, bool S>
    std::int64_t add_as(std::int64_t a, std::int64_t b) const {
        const std::uint64_t r =
            static_cast<const Derived&>(*this).raw(static_cast<std::uint64_t>(a) & mask_, static_cast<std::uint64_t>(b) & mask_) &
            mask_;
        const int width = bits_ + 1;
        if constexpr (O == Overflow::Wrap) {
            const std::uint64_t low = r & (mask_ >> 1);
            if constexpr (S) return static_cast<std::int64_t>(low << (64 - bits_)) >> (64 - bits_);
            return static_cast<std::int64_t>(low);
        }
        // Sign-extend (or not) the (bits+1)-bit result.
        std::int64_t v;
        if constexpr (S) v = static_cast<std::int64_t>(r << (64 - width)) >> (64 - width);
        else v = static_cast<std::int64_t>(r);
        if constexpr (O == Overflow::Saturate) {
            const std::int64_t lo = S ? -(std::int64_t{1} << (bits_ - 1)) : 0;
            const std::int64_t hi = S ? (std::int64_t{1} << (bits_ - 1)) - 1 : (std::int64_t{1} << bits_) - 1;
            v = v < lo ? lo : (v > hi ? hi : v);
        }
        return v;
    }
    void fill_table(std::int32_t* out) const override {
        const int n = bits_;
        for (std::uint32_t a = 0; a < (1u << n); ++a) {
            const std::int32_t av = code_to_value(a, n, signed_);
            for (std::uint32_t w = 0; w < (1u << n); ++w)
                out[(a << n) | w] = static_cast<std::int32_t>(add(av, code_to_value(w, n, signed_)));
        }
    }

protected:
    AdderBlock(const Params& p, const std::string& component);
    AdderSplit split(SplitRule rule, int k) const { return {rule, k, overflow_ == Overflow::Wrap}; }
    /// The cost of the carry chain from column `first` (see adder_estimate) plus `extra`
    /// gates (area, depth) of the approximate part, with the saturation logic when asked.
    HardwareCost adder_cost(const Params& p, const std::string& component, int first, bool carry_in,
                            double carry_in_arrival, GateEstimate extra) const;

    int bits_;
    bool signed_;
    Overflow overflow_;
    std::uint64_t mask_;  ///< bits+1 low bits
    HardwareCost cost_;   ///< set by the derived constructor

};

class ExactAdd;
class LoaAdd;
class TruncatedAdd;
class EtaAdd;
// Instantiated once, in adders.cpp (compiled for vectorization).
extern template class AdderBlock<ExactAdd>;
extern template class AdderBlock<LoaAdd>;
extern template class AdderBlock<TruncatedAdd>;
extern template class AdderBlock<EtaAdd>;

}  // namespace hawx::blocks
