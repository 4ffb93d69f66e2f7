#pragma once
/// \file
/// The one place where the SDK's vocabulary (LayerShape, Configuration, per-unit score
/// arrays) and the engine's (LayerDesc, ModelAssignment, ScoreTable) meet. The configuration
/// notation itself lives in the torch-free core (hawx/framework/config_string.hpp); strings
/// for engine assignments are parsed and written through it.
#include <cstdint>
#include <string>
#include <vector>

#include <hawx/sdk/configuration.hpp>

#include "hawx/engine/engine.hpp"
#include "hawx/engine/scoring.hpp"

namespace hawx::engine {

/// The SDK's shape of a layer; `output_positions` is its output pixels per image (1 for linear).
LayerShape layer_shape(const LayerDesc& layer, std::int64_t output_positions);

/// The engine assignment of a configuration: a layer with one unit is assigned at Layer
/// granularity, otherwise at the configuration's granularity.
ModelAssignment to_assignment(const Configuration& c);

/// Parses a configuration string for a network with the given layers: `NAME` assigns a whole
/// layer (Layer granularity), the bracket forms per filter. Throws hawx::Error naming the
/// offending item (see hawx/framework/config_string.hpp).
ModelAssignment parse_assignment(const std::string& text, const std::vector<std::string>& block_names,
                                 const std::vector<LayerDesc>& layers);

/// The canonical string of an assignment (ranges merged, `(A,B)` for an equal filter split,
/// `[...]` otherwise). Throws hawx::Error for a layer assigned per operation.
std::string format_assignment(const ModelAssignment& a, const std::vector<std::string>& block_names);

/// A search problem's score arrays from a score table: mean[l][u][b] and sum[l][u][b] over the
/// units of granularity `g` (Layer: the layer's mean/sum; Filter: each filter's), for the
/// first `blocks` blocks of the table's library.
struct SearchScores {
    std::vector<std::vector<std::vector<double>>> mean, sum;
};
SearchScores search_scores(const ScoreTable& table, Granularity g, std::size_t blocks);

}  // namespace hawx::engine
