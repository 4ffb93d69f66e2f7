#pragma once
/// \file
/// Configurations in the paper's notation, e.g. `1-3,8:KV6 4:KV8 5-7,10-11:KV9 9:L2N`
/// (torch-free; the engine's ModelAssignment strings are built on it).
///
/// A configuration is whitespace-separated items `LAYERS:CHOICE`:
/// - LAYERS: comma-separated layer numbers and ranges (`1-3,8`), 1-based in forward order,
///   or `*` for every layer not named elsewhere.
/// - CHOICE:
///   - `NAME`: every unit of the layer uses block NAME;
///   - `(A,B,...)`: a mix: the layer's N units (filters at filter granularity, weight
///     positions filter-major at operation granularity) are split, in order, into as many
///     contiguous parts as names listed, sizes differing by at most one (the first N mod n
///     parts get the extra unit): `(KVP,L2J)` on 64 filters gives filters 0-31 KVP and
///     32-63 L2J, on 5 filters 0-2 KVP and 3-4 L2J;
///   - `[A,B,...]`: the exact per-unit form, one name per unit (N names).
/// Every layer must be covered exactly once. Block names are the experiment's short names.
/// Formatting is canonical (one string per configuration): layers with the same choice are
/// merged into ranges in order of first appearance; a uniform layer is written `NAME`, a
/// layer that is exactly an equal split over its runs `(A,B)`, any other `[...]`.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <hawx/sdk/configuration.hpp>

namespace hawx {

/// One layer's choice as written: Layer granularity holds one block; Filter or Operation
/// granularity holds one block per unit (a uniform one is still per unit).
struct LayerChoice {
    Granularity granularity = Granularity::Layer;
    std::vector<int> units;
};

/// The part (0..n-1) that unit u of N belongs to when N units are split into n contiguous
/// parts, the first N mod n parts one unit larger.
std::size_t split_part(std::int64_t u, std::int64_t N, std::size_t n);

/// Parses `text` for layers whose bracket forms cover `units_per_layer[l]` units, giving
/// bracket forms granularity `bracket_granularity` (Filter or Operation) and `NAME` Layer.
/// Throws hawx::Error naming the offending item (unknown block, layer out of range, a layer
/// covered twice or not at all, wrong count, unbalanced brackets).
std::vector<LayerChoice> parse_layer_choices(const std::string& text, const std::vector<std::string>& block_names,
                                             const std::vector<std::int64_t>& units_per_layer,
                                             Granularity bracket_granularity);

/// Writes choices in the notation: Layer choices as `NAME`, per-unit ones as `(..)` when
/// they are an equal split over their runs (a uniform one as `(A)`), else `[...]`.
std::string format_layer_choices(const std::vector<LayerChoice>& layers, const std::vector<std::string>& block_names);

/// Parses a configuration of granularity `g` for `layers`: `NAME` fills all the layer's
/// units; bracket forms need g = Filter (units = filters) or Operation (units = weight
/// positions, filter-major). Throws hawx::Error as parse_layer_choices, and for a bracket
/// form at Layer granularity.
Configuration parse_configuration(const std::string& text, const std::vector<std::string>& block_names,
                                  const std::vector<LayerShape>& layers, Granularity g);

/// The canonical string of `c` (see the file comment): a layer whose units all use one block
/// is written `NAME`, so `1-2:(KVP,L2J) 3-5:KVP` is the canonical form of that filter-level
/// configuration. Throws hawx::Error for a block index without a name.
std::string format_configuration(const Configuration& c, const std::vector<std::string>& block_names);

}  // namespace hawx
