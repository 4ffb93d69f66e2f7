#pragma once
/// \file
/// A block prepared for the engine: its full table in the layouts the kernels read, and the
/// exact integer separable form of its error when one of low rank exists.
#include <hawx/sdk/block.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hawx/engine/separable.hpp"

namespace hawx::engine {

/// Which kernel computes a block's multiplications.
enum class KernelPath {
    Auto,       ///< separable when the block has a form of rank <= max_rank, else gather
    Gather,     ///< table lookups
    Separable,  ///< exact conv/GEMM plus R correction terms (error if the block has none)
    Reference   ///< the naive loop sum_k T[a_k][w_k] (tests; slow)
};
const char* to_string(KernelPath p);
KernelPath kernel_path_from_string(const std::string& s);  ///< "auto", "gather", ...

/// Element type the transposed table is stored in: the narrowest that holds every entry,
/// so a 256-entry column of one weight code takes 512 bytes (L1-resident) where possible.
enum class TableType { Int16, UInt16, Int32 };

struct CompiledBlock {
    std::string name;        ///< the experiment's short name (e.g. "KV6")
    bool is_signed = true;
    bool exact = false;      ///< T[a][w] == a*w everywhere
    std::vector<std::int32_t> table;  ///< 65536 entries, (a_code << 8) | w_code
    TableType table_type = TableType::Int32;
    /// Transposed table [w_code][a_code] (column of one weight value contiguous), in
    /// table_type; 65536 elements of 2 or 4 bytes.
    std::vector<std::uint8_t> columns;
    std::optional<SeparableForm> separable;  ///< E = T - a*w = sum_r u_r(a) v_r(w)
    /// T itself = sum_r p_r(a) q_r(w), kept when its rank is below 1 + rank(E) (the exact
    /// product term is then not needed: a DRUM-style block, d(a) * d(w), is rank 1).
    std::optional<SeparableForm> table_form;

    /// A MAC block's adder (hawx/framework/mac_block.hpp), null for a plain multiplier,
    /// whose products are summed exactly. `tree` is its AccumulationOrder.
    std::shared_ptr<const ApproxBlock> adder;
    std::string adder_name;
    int tree = 1;
    /// The adder adds exactly every pair of its operand range (it promises so, or an
    /// exhaustive check proved it for widths up to 12 bits): a layer whose sums provably
    /// stay in the adder's range then needs no emulation of it.
    bool adder_exact = false;
    /// The adder's declared split (ApproxBlock::adder_split), checked against its add_n.
    AdderSplit adder_split;

    const void* column(std::uint32_t w_code) const {
        const std::size_t es = table_type == TableType::Int32 ? 4 : 2;
        return columns.data() + static_cast<std::size_t>(w_code) * 256 * es;
    }
    std::int32_t lookup(std::uint32_t a_code, std::uint32_t w_code) const { return table[(a_code << 8) | w_code]; }
    /// Rank of the error's separable form (-1: none).
    int rank() const { return separable ? separable->rank : -1; }
    /// Float32 conv/GEMM terms the separable path needs for this block (-1: gather only).
    int terms() const {
        if (table_form) return table_form->rank;
        return separable ? 1 + separable->rank : -1;
    }
};

/// An experiment's blocks, indexed by assignments.
using BlockLibrary = std::vector<std::shared_ptr<const CompiledBlock>>;

/// Prepares a block for the engine. The engine emulates 8x8-bit multipliers, alone or as a
/// MAC block with their adder; any other block (a lone adder, other widths) is refused with
/// a hawx::Error naming it.
/// `max_rank` bounds the separable form searched for (0 disables the search).
std::shared_ptr<const CompiledBlock> compile_block(const ApproxBlock& block, const std::string& name,
                                                   int max_rank = 8);
/// Same from a ready table (65536 entries, (a_code << 8) | w_code).
std::shared_ptr<const CompiledBlock> compile_table(std::vector<std::int32_t> table, bool is_signed,
                                                   const std::string& name, int max_rank = 8);
/// The exact 8x8 multiplier of the given signedness (the int8-exact baseline).
std::shared_ptr<const CompiledBlock> exact_block(bool is_signed);

}  // namespace hawx::engine
