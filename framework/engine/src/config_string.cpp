#include "hawx/engine/config_string.hpp"

#include <hawx/framework/config_string.hpp>
#include <hawx/sdk/error.hpp>

// The notation itself lives in the torch-free framework (hawx/framework/config_string.hpp),
// shared with the search driver; here only the conversion to and from ModelAssignment.
namespace hawx::engine {

ModelAssignment parse_configuration(const std::string& text, const std::vector<std::string>& block_names,
                                    const std::vector<LayerDesc>& layers) {
    std::vector<std::int64_t> filters;
    for (const auto& l : layers) filters.push_back(l.out_channels);
    ModelAssignment m;
    for (auto& c : parse_layer_choices(text, block_names, filters, Granularity::Filter))
        m.layers.push_back(LayerAssignment{c.granularity, std::move(c.units)});
    return m;
}

std::string format_configuration(const ModelAssignment& a, const std::vector<std::string>& block_names) {
    std::vector<LayerChoice> choices;
    for (std::size_t l = 0; l < a.layers.size(); ++l) {
        if (a.layers[l].granularity == Granularity::Operation)
            throw Error("configuration: layer " + std::to_string(l + 1) +
                        " is assigned per operation, which the string notation cannot express");
        choices.push_back(LayerChoice{a.layers[l].granularity, a.layers[l].units});
    }
    return format_layer_choices(choices, block_names);
}

}  // namespace hawx::engine
