#include "hawx/engine/compiled_block.hpp"

#include <hawx/sdk/error_metrics.hpp>

#include <hawx/framework/mac_block.hpp>

#include <algorithm>
#include <cstring>

namespace hawx::engine {

const char* to_string(KernelPath p) {
    switch (p) {
        case KernelPath::Auto: return "auto";
        case KernelPath::Gather: return "gather";
        case KernelPath::Separable: return "separable";
        case KernelPath::Reference: return "reference";
    }
    return "?";
}

KernelPath kernel_path_from_string(const std::string& s) {
    for (auto p : {KernelPath::Auto, KernelPath::Gather, KernelPath::Separable, KernelPath::Reference})
        if (s == to_string(p)) return p;
    throw Error("kernel path '" + s + "': expected auto, gather, separable or reference");
}

namespace {
template <class T>
void fill_columns(const std::vector<std::int32_t>& table, std::vector<std::uint8_t>& out) {
    out.resize(65536 * sizeof(T));
    T* col = reinterpret_cast<T*>(out.data());
    for (std::uint32_t w = 0; w < 256; ++w)
        for (std::uint32_t a = 0; a < 256; ++a) col[w * 256 + a] = static_cast<T>(table[(a << 8) | w]);
}
}  // namespace

std::shared_ptr<const CompiledBlock> compile_table(std::vector<std::int32_t> table, bool is_signed,
                                                   const std::string& name, int max_rank) {
    if (table.size() != 65536)
        throw Error("block '" + name + "': table has " + std::to_string(table.size()) +
                    " entries, expected 65536 (8x8-bit operands)");
    auto b = std::make_shared<CompiledBlock>();
    b->name = name;
    b->is_signed = is_signed;
    const auto [mn, mx] = std::minmax_element(table.begin(), table.end());
    if (*mn >= -32768 && *mx <= 32767) b->table_type = TableType::Int16;
    else if (*mn >= 0 && *mx <= 65535) b->table_type = TableType::UInt16;
    else b->table_type = TableType::Int32;
    switch (b->table_type) {
        case TableType::Int16: fill_columns<std::int16_t>(table, b->columns); break;
        case TableType::UInt16: fill_columns<std::uint16_t>(table, b->columns); break;
        case TableType::Int32: fill_columns<std::int32_t>(table, b->columns); break;
    }
    const auto err = error_table(table, is_signed);
    b->exact = std::all_of(err.begin(), err.end(), [](std::int64_t e) { return e == 0; });
    if (b->exact) {
        b->separable = SeparableForm{};
        b->separable->method = "exact";
    } else if (max_rank > 0) {
        b->separable = factorize_error(err, max_rank);
        std::vector<std::int64_t> t64(table.begin(), table.end());
        const int limit = b->separable ? b->separable->rank : max_rank;  // want rank(T) <= rank(E)
        auto tf = factorize_error(t64, limit);
        if (tf && (!b->separable || tf->rank < 1 + b->separable->rank)) b->table_form = std::move(tf);
    }
    b->table = std::move(table);
    return b;
}

namespace {

// Exact over every pair of its operand range: promised, or checked pair by pair (2^24 pairs
// at 12 bits; wider adders are not enumerable and count as approximate without a promise).
bool adder_is_exact(const ApproxBlock& a) {
    if (a.promises_exact()) return true;
    const int bits = a.activation_bits();
    if (bits > 12) return false;
    const bool s = a.is_signed();
    const std::int64_t lo = operand_min(bits, s), hi = operand_max(bits, s);
    std::vector<std::int64_t> x(static_cast<std::size_t>(hi - lo + 1)), y(x.size()), out(x.size());
    for (std::int64_t v = lo; v <= hi; ++v) y[static_cast<std::size_t>(v - lo)] = v;
    for (std::int64_t u = lo; u <= hi; ++u) {
        std::fill(x.begin(), x.end(), u);
        a.add_n(x.data(), y.data(), out.data(), out.size());
        for (std::size_t i = 0; i < out.size(); ++i)
            if (out[i] != u + y[i]) return false;
    }
    return true;
}

// The adder's declared split against its add_n on 65,536 sampled operand pairs (whose
// split result is in range, or any pair when it wraps): the engine's closed-form sums rely
// on it, so a wrong declaration is refused rather than trusted.
AdderSplit checked_split(const ApproxBlock& a, const std::string& name) {
    const AdderSplit sp = a.adder_split();
    if (sp.rule == SplitRule::None) return sp;
    const int bits = a.activation_bits();
    const bool s = a.is_signed();
    if (sp.k < 0 || sp.k >= bits)
        throw Error("adder '" + name + "': declares a split at bit " + std::to_string(sp.k) + " of a " +
                    std::to_string(bits) + "-bit adder");
    const std::int64_t lo = operand_min(bits, s), hi = s ? (std::int64_t{1} << (bits - 1)) - 1 : (std::int64_t{1} << bits) - 1;
    const std::int64_t span = hi - lo + 1;
    OperandSampler sampler(s, 7);
    constexpr std::size_t kPairs = 65536;
    std::vector<std::int64_t> x(kPairs), y(kPairs), out(kPairs);
    for (std::size_t i = 0; i < kPairs; ++i) x[i] = sampler.draw(bits), y[i] = sampler.draw(bits);
    a.add_n(x.data(), y.data(), out.data(), kPairs);
    for (std::size_t i = 0; i < kPairs; ++i) {
        std::int64_t want = split_add(sp, x[i], y[i]);
        if (sp.wraps) want = lo + (((want - lo) % span) + span) % span;
        else if (want < lo || want > hi) continue;  // overflow handling is the block's own
        if (out[i] != want)
            throw Error("adder '" + name + "': declares its sums split at bit " + std::to_string(sp.k) +
                        " but add_n(" + std::to_string(x[i]) + ", " + std::to_string(y[i]) + ") = " +
                        std::to_string(out[i]) + ", the split gives " + std::to_string(want));
    }
    return sp;
}

}  // namespace

std::shared_ptr<const CompiledBlock> compile_block(const ApproxBlock& block, const std::string& name, int max_rank) {
    if (block.op() != BlockOp::Multiply || block.activation_bits() != 8 || block.weight_bits() != 8)
        throw Error("block '" + name + "': the engine emulates 8x8-bit multipliers; this block is a " +
                    std::to_string(block.activation_bits()) + "x" + std::to_string(block.weight_bits()) + "-bit " +
                    (block.op() == BlockOp::Add ? "adder" : "multiplier"));
    auto compiled = compile_table(block_table(block), block.is_signed(), name, max_rank);
    const auto* mac = dynamic_cast<const MacBlock*>(&block);
    if (!mac) return compiled;
    auto b = std::make_shared<CompiledBlock>(std::move(*std::const_pointer_cast<CompiledBlock>(compiled)));
    b->adder = mac->adder();
    b->adder_name = mac->adder_name();
    b->tree = mac->order().tree;
    b->adder_exact = adder_is_exact(*mac->adder());
    b->adder_split = checked_split(*mac->adder(), mac->adder_name());
    return b;
}

std::shared_ptr<const CompiledBlock> exact_block(bool is_signed) {
    std::vector<std::int32_t> t(65536);
    for (std::uint32_t a = 0; a < 256; ++a)
        for (std::uint32_t w = 0; w < 256; ++w)
            t[(a << 8) | w] = code_to_value(a, 8, is_signed) * code_to_value(w, 8, is_signed);
    return compile_table(std::move(t), is_signed, is_signed ? "exact8s" : "exact8u", 0);
}

}  // namespace hawx::engine
