#pragma once
/// \file
/// Configurations in the paper's notation, e.g. `1-3,8:KV6 4:KV8 5-7,10-11:KV9 9:L2N`.
///
/// A configuration is whitespace-separated items `LAYERS:CHOICE`:
/// - LAYERS: comma-separated layer numbers and ranges (`1-3,8`), 1-based in forward order,
///   or `*` for every layer not named elsewhere.
/// - CHOICE:
///   - `NAME`: the whole layer uses block NAME (layer granularity);
///   - `(A,B,...)`: a filter-wise mix: the layer's F filters are split, in order, into as many
///     contiguous parts as names listed, sizes differing by at most one (the first F mod n
///     parts get the extra filter): `(KVP,L2J)` on 64 filters gives filters 0-31 KVP and
///     32-63 L2J;
///   - `[A,B,...]`: the exact per-filter form, one name per filter (F names).
/// Every layer must be covered exactly once. Block names are the experiment's short names.
#include <string>
#include <vector>

#include "hawx/engine/engine.hpp"

namespace hawx::engine {

/// Parses `text` for a network with the given layers. Throws hawx::Error naming the offending
/// item (unknown block, layer out of range, a layer covered twice or not at all, wrong count).
ModelAssignment parse_configuration(const std::string& text, const std::vector<std::string>& block_names,
                                    const std::vector<LayerDesc>& layers);

/// Writes an assignment in the notation above, merging layers with the same choice into
/// ranges (`1-3,8:A 4:B`); filter-level layers whose filters form the contiguous equal split
/// are written `(A,B)`, others `[...]`. Operation-level layers cannot be written (throws).
std::string format_configuration(const ModelAssignment& a, const std::vector<std::string>& block_names);

}  // namespace hawx::engine
