#include "hawx/blocks/adders.hpp"

#include <algorithm>

#include "hawx/blocks/eta_add.hpp"
#include "hawx/blocks/exact_add.hpp"
#include "hawx/blocks/loa_add.hpp"
#include "hawx/blocks/truncated_add.hpp"

namespace hawx::blocks {

ParamSpec adder_bits_param() {
    return ParamSpec::integer("bits", "width of each addend in bits (an accumulator: 16..32)").with_default(8).in_range(2, 32);
}

ParamSpec overflow_param() {
    return ParamSpec::string("overflow",
                             "what leaves the adder: carry (bits+1-bit result), wrap (low bits bits) or saturate "
                             "(clamped to the bits-bit range)")
        .with_default("carry")
        .one_of({"carry", "wrap", "saturate"});
}

ParamSpec adder_k_param(const std::string& what) {
    return ParamSpec::integer("k", what + " (at most bits; 0: exact)").with_default(4).in_range(0, 32);
}

GateEstimate adder_estimate(int bits, bool is_signed, int first, bool carry_in, double carry_in_arrival,
                            bool keep_carry) {
    const int top = keep_carry ? bits : bits - 1;
    if (first > top) return {};
    std::vector<std::vector<double>> columns(static_cast<std::size_t>(top + 1 - first));
    for (int c = first; c <= top; ++c)
        if (c < bits || is_signed) columns[static_cast<std::size_t>(c - first)] = {0.0, 0.0};
    if (carry_in && !columns.empty()) columns[0].push_back(carry_in_arrival);
    return reduce_columns(std::move(columns));
}

namespace {

// The element-wise loops. out may alias a or b exactly, which carries no dependence between
// iterations (ivdep). The AVX2 copy handles 4 sums per instruction where the CPU has AVX2;
// raw() is inlined into both.
template <class D, Overflow O, bool S>
__attribute__((target("avx2"))) void loop_avx2(const D& d, const std::int64_t* a, const std::int64_t* b,
                                               std::int64_t* out, std::size_t n) {
#pragma GCC ivdep
    for (std::size_t i = 0; i < n; ++i) out[i] = d.template add_as<O, S>(a[i], b[i]);
}
template <class D, Overflow O, bool S>
void loop_base(const D& d, const std::int64_t* a, const std::int64_t* b, std::int64_t* out, std::size_t n) {
#pragma GCC ivdep
    for (std::size_t i = 0; i < n; ++i) out[i] = d.template add_as<O, S>(a[i], b[i]);
}
template <class D, Overflow O, bool S>
void loop(const D& d, const std::int64_t* a, const std::int64_t* b, std::int64_t* out, std::size_t n) {
    static const bool avx2 = __builtin_cpu_supports("avx2");
    if (avx2)
        loop_avx2<D, O, S>(d, a, b, out, n);
    else
        loop_base<D, O, S>(d, a, b, out, n);
}

}  // namespace

template <class D>
void AdderBlock<D>::add_n(const std::int64_t* a, const std::int64_t* b, std::int64_t* out, std::size_t n) const {
    const D& d = static_cast<const D&>(*this);
    switch (overflow_) {
        case Overflow::Carry: return signed_ ? loop<D, Overflow::Carry, true>(d, a, b, out, n) : loop<D, Overflow::Carry, false>(d, a, b, out, n);
        case Overflow::Wrap: return signed_ ? loop<D, Overflow::Wrap, true>(d, a, b, out, n) : loop<D, Overflow::Wrap, false>(d, a, b, out, n);
        case Overflow::Saturate:
            return signed_ ? loop<D, Overflow::Saturate, true>(d, a, b, out, n) : loop<D, Overflow::Saturate, false>(d, a, b, out, n);
    }
}

template <class D>
AdderBlock<D>::AdderBlock(const Params& p, const std::string& component)
    : bits_(static_cast<int>(p.get_int("bits"))), signed_(p.get_bool("signed")) {
    const std::string o = p.get_string("overflow");
    overflow_ = o == "wrap" ? Overflow::Wrap : o == "saturate" ? Overflow::Saturate : Overflow::Carry;
    mask_ = (std::uint64_t{1} << (bits_ + 1)) - 1u;
    if (p.has("k") && p.get_int("k") > bits_)
        throw param_error(component, "k", "= " + std::to_string(p.get_int("k")) + " exceeds bits = " + std::to_string(bits_));
}

template <class D>
HardwareCost AdderBlock<D>::adder_cost(const Params& p, const std::string& component, int first, bool carry_in,
                                       double carry_in_arrival, GateEstimate extra) const {
    GateEstimate e = first < bits_ || (first == bits_ && overflow_ == Overflow::Carry)
                         ? adder_estimate(bits_, signed_, first, carry_in, carry_in_arrival, overflow_ == Overflow::Carry)
                         : GateEstimate{};
    e.area_ge += extra.area_ge;
    e.depth = std::max(e.depth, extra.depth);
    if (overflow_ == Overflow::Saturate) {
        // Overflow detection (an XOR/AND of the top bits) and a 2:1 choice per result bit.
        e.area_ge += unit_gate::kXorArea + 3 * unit_gate::kGateArea * bits_;
        e.depth += unit_gate::kXorDelay + 2 * unit_gate::kGateDelay;
    }
    return estimate_cost(e, read_cost_settings(p, component), true);
}

template class AdderBlock<ExactAdd>;
template class AdderBlock<LoaAdd>;
template class AdderBlock<TruncatedAdd>;
template class AdderBlock<EtaAdd>;

}  // namespace hawx::blocks
