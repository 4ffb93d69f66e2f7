#pragma once
// Engine-internal: layers whose products go through an approximate adder (MAC blocks). The
// accumulation is emulated add by add in the block's order (AccumulationOrder), batched
// over a tile of outputs so that each step is one add_n call over hundreds of sums; adders
// with a checked AdderSplit whose sums provably stay in range (or wrap) are summed in
// closed form instead, one packed table lookup per product.
#include <cstdint>
#include <string>
#include <vector>

#include "geometry.hpp"
#include "hawx/engine/layer_kernel.hpp"

namespace hawx::engine::detail {

struct MacFilter {
    const ApproxBlock* adder = nullptr;  // null: products summed exactly
    std::string adder_name;
    int tree = 1;
    std::int64_t lo = 0, hi = 0;         // the adder's operand range (results must stay in it)
    std::int32_t zw = 0;                 // unsigned zero-point correction, exact
    std::int64_t cst = 0;
    // Closed form (the adder's AdderSplit, sums provably in range or wrapping): the fan-in is
    // summed from packed table entries (p >> k) << (field * k) + sum_j bit_j(p) << (field * j)
    // over chunks of at most 2^field - 1 products, instead of one add_n per addition.
    AdderSplit split;
    bool closed = false;
    int field = 0;
    std::int64_t chunk = 0;
    // Closed form checked per tile, where the range cannot be proven for every input: with
    // products >= 0 (`monotone`) every partial sum is <= the total, so a total in range
    // proves them all; otherwise a row needs sum_k |a_k||w_k| + `slack` (the products'
    // largest error from a*w plus the adder's) within range. A tile that fails is emulated.
    bool checked = false, monotone = false;
    std::int64_t slack = 0;
};

struct MacPart {
    std::vector<MacFilter> filters;
    std::vector<std::vector<std::int64_t>> group_filters;
    std::vector<const std::int32_t*> column;       // [f * K + k]: T_b[.][w_fk], 256 entries
    std::vector<std::vector<std::int32_t>> columns;  // storage: one per (block, weight code) used
    std::vector<const std::int64_t*> packed;         // [f * K + k]: packed column of a closed filter
    std::vector<std::vector<std::int64_t>> packed_columns;
    std::vector<std::int32_t> abs_w;  // [f * K + k]: |weight value| of checked, non-monotone filters
    bool is_signed = true;            // activation codes are int8 values (else the codes themselves)
    bool with_asum = false;
    std::string label;  // the layer, for messages
};

// True when some filter's adder must be emulated: it is not exact, or an exact adder's
// range does not provably hold every partial sum of that filter (then overflow decides).
// `auto_tree`: the tree size this layer gives blocks of order "auto" (tree 0).
bool mac_needed(const Geometry& g, const WeightQuant& wq, const BlockLibrary& library, const LayerAssignment& a,
                int auto_tree);

MacPart build_mac(const Geometry& g, const LayerDesc& layer, const WeightQuant& wq, std::int32_t za,
                  const BlockLibrary& library, const LayerAssignment& a, int auto_tree);

// Accumulators [N, F, OH, OW] (or [N, F]) into `out`.
void run_mac(const Geometry& g, const MacPart& part, const std::uint8_t* codes, std::uint8_t zero_code, std::int64_t N,
             std::int64_t H, std::int64_t W, std::int64_t OH, std::int64_t OW, double* out);

std::string describe_mac(const MacPart& part);

// The definition, one addition at a time (reference_accumulate): the sum of `products` in
// the filter's order through its adder; throws hawx::Error when a result leaves the adder's
// range. `f` names the filter in that message.
std::int64_t mac_sum(const MacFilter& mf, const std::vector<std::int64_t>& products, const std::string& label,
                     std::int64_t f);

// The accumulation a filter's blocks define (the adder of its first position's block;
// every position must agree); throws hawx::Error naming the layer otherwise.
MacFilter filter_accumulation(const Geometry& g, const BlockLibrary& library, const LayerAssignment& a, std::int64_t f,
                              const std::string& label, int auto_tree);

}  // namespace hawx::engine::detail
