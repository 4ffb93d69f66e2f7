#pragma once
/// \file
/// Shared vocabulary of the search and accelerator interfaces: layer shapes and
/// configurations (which block each layer, filter or weight position uses).
/// These types may only grow by members added at the end, with an SDK ABI version bump.
#include <cstdint>
#include <string>
#include <vector>

namespace hawx {

/// Where one block choice applies.
enum class Granularity {
    Layer,     ///< one block per layer
    Filter,    ///< one block per output channel / output neuron
    Operation  ///< one block per weight position of a filter (shared over output positions)
};

inline const char* to_string(Granularity g) {
    switch (g) {
        case Granularity::Layer: return "layer";
        case Granularity::Filter: return "filter";
        case Granularity::Operation: return "operation";
    }
    return "?";
}

/// Shape of one approximable layer, numbered 1..L in forward order.
struct LayerShape {
    std::string name;                   ///< e.g. "conv1" or "layer1.0.conv1"
    std::string type;                   ///< "conv2d" or "linear"
    std::int64_t out_channels = 0;      ///< filters (conv) or output neurons (linear)
    std::int64_t fan_in = 0;            ///< multiplications per output element
    std::int64_t output_positions = 1;  ///< output pixels per image (1 for linear)
    std::int64_t groups = 1;
};

/// Units of a layer at a granularity (1, out_channels, or out_channels * fan_in).
inline std::int64_t unit_count(const LayerShape& layer, Granularity g) {
    switch (g) {
        case Granularity::Layer: return 1;
        case Granularity::Filter: return layer.out_channels;
        case Granularity::Operation: return layer.out_channels * layer.fan_in;
    }
    return 1;
}

/// A configuration: `blocks[l][u]` is the index (into the experiment's block list) of
/// the block that unit u of layer l uses; a layer has 1 unit at Layer granularity,
/// out_channels units at Filter, out_channels * fan_in units (filter-major) at Operation.
struct Configuration {
    Granularity granularity = Granularity::Layer;
    std::vector<std::vector<int>> blocks;
};

}  // namespace hawx
